# The dynohost demo: a small Rack app served by Thin, run as web dynos behind dyno-router.
require "json"
require "socket"

BOOTED_AT = Time.now.utc

app = lambda do |env|
  req = Rack::Request.new(env)
  case req.path_info
  when "/"
    body = "Hello from #{ENV.fetch('DYNO', '?')} (#{Socket.gethostname}), served by Thin on Ruby #{RUBY_VERSION}\n"
    [200, { "content-type" => "text/plain" }, [body]]
  when "/env"
    info = {
      dyno: ENV["DYNO"], port: ENV["PORT"], home: ENV["HOME"], cwd: Dir.pwd,
      uid: Process.uid, pid: Process.pid, greeting: ENV["GREETING"],
      booted_at: BOOTED_AT.iso8601, profile_d: ENV["DEMO_PROFILE_D"],
      request_id: env["HTTP_X_REQUEST_ID"], forwarded_for: env["HTTP_X_FORWARDED_FOR"],
      request_start: env["HTTP_X_REQUEST_START"]
    }
    [200, { "content-type" => "application/json" }, [JSON.generate(info) + "\n"]]
  when "/slow"
    ms = [[req.params.fetch("ms", "100").to_i, 0].max, 30_000].min
    sleep(ms / 1000.0)
    [200, { "content-type" => "text/plain" }, ["slept #{ms} ms in #{ENV['DYNO']}\n"]]
  else
    [404, { "content-type" => "text/plain" }, ["not found\n"]]
  end
end

run app
