-- wrk script: realistic page views from many visitors (three events each, from their own
-- /24 network behind the trusted proxy 127.0.0.1), real browser User-Agents, a long tail
-- of pages and some referrers. Used for both the bare and the footfall endpoint.
local uas = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
}
local referrers = {"", "", "", "https://www.google.com/", "https://news.ycombinator.com/", "https://duckduckgo.com/"}
local n = 0

request = function()
  n = n + 1
  local visitor = math.floor(n / 3)
  local ip = string.format("10.%d.%d.7", math.floor(visitor / 256) % 256, visitor % 256)
  local page = (n * 7919) % 500
  local body = string.format(
    '{"n":"pageview","u":"https://example.com/docs/page-%d?utm_campaign=c%d","r":"%s"}',
    page, page % 5, referrers[(visitor % #referrers) + 1])
  local headers = {
    ["Content-Type"] = "text/plain",
    ["User-Agent"] = uas[(visitor % #uas) + 1],
    ["X-Forwarded-For"] = ip,
  }
  return wrk.format("POST", nil, headers, body)
end
