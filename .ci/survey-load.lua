-- wrk load test: each request answers one learner's survey with a distinct token.
-- Setup (see README, Performance): a delivered class with many attending learners,
-- invitations sent, tokens.txt holding one token per line (from the queued e-mails),
-- NONCE = a tsp_csrf cookie value and CSRF = the _csrf token a GET of a survey page
-- returned with that cookie. Run: NONCE=… CSRF=… wrk -t4 -c16 -d8s -s survey-load.lua URL
local tokens = {}
for line in io.lines("tokens.txt") do tokens[#tokens + 1] = line end
local counter = 0
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  counter = id
end
request = function()
  local token = tokens[(counter % #tokens) + 1]
  counter = counter + 4 -- four threads (-t4): each takes every fourth token
  local body = "_csrf=" .. os.getenv("CSRF") .. "&q1=5&q2=4&q3=5&q4=4&q5=5&comment=Great+class"
  local headers = {}
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["Cookie"] = "tsp_csrf=" .. os.getenv("NONCE")
  headers["Origin"] = "http://127.0.0.1:8093"
  return wrk.format("POST", "/survey/" .. token, headers, body)
end
