# Sourced before the command, as on Heroku: proves .profile.d works.
export DEMO_PROFILE_D=sourced
