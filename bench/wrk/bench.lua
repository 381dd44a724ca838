-- SPDX-License-Identifier: Apache-2.0
-- The wrk script of bench/run. What it sends depends on the environment:
--
--   BENCH_KIND=signed  one pre-signed request a line from BENCH_DATA
--                      ("<signature>\t<body>", bench/tools/benchgen.py), POSTed
--                      to BENCH_PATH with header BENCH_SIG_HEADER and
--                      Content-Type BENCH_CTYPE. Thread i of BENCH_THREADS sends
--                      lines i, i+n, i+2n, ... so every request is distinct;
--                      if a thread runs out it starts over (counted as "wrapped").
--   BENCH_KIND=plain   BENCH_METHOD BENCH_PATH with BENCH_HEADERS ("Name: value"
--                      separated by "|") and BENCH_BODY, in which {slot} becomes a
--                      random open slot opening of the seed (shop 1..BENCH_NSHOPS,
--                      j % 10 in 7..9, see bench/sql/seed.sql); or the contents of
--                      the file BENCH_BODY_FILE as the body (too large for the
--                      environment: the form flood's 256 KiB).
--   BENCH_KIND=mix     round robin of: the dashboard, the offer-loop job, GET
--                      /api/slot-openings/{slot}, and a signed HELP message from
--                      BENCH_DATA (the memory run).
--
-- done() prints one line "BENCHJSON {...}": requests, duration, latency
-- percentiles (microseconds), socket errors and HTTP status counts.

local kind = os.getenv("BENCH_KIND") or "plain"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local nshops = tonumber(os.getenv("BENCH_NSHOPS") or "1")
local threads = {}
local counter = 0

function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

local function parse_headers(spec)
    local h = {}
    for item in string.gmatch(spec or "", "[^|]+") do
        local name, value = item:match("^%s*([^:]+):%s*(.*)$")
        if name then h[name] = value end
    end
    return h
end

local function random_slot()
    local s = math.random(1, nshops)
    return (s - 1) * 1000 + 10 * math.random(0, 99) + math.random(7, 9)
end

local function load_signed(file, path, header, ctype, share)
    local out = {}
    local i = 0
    for line in io.lines(file) do
        if not share or i % nthreads == tid then
            local sig, body = line:match("^([^\t]*)\t(.*)$")
            if sig then
                out[#out + 1] = wrk.format("POST", path, {[header] = sig, ["Content-Type"] = ctype}, body)
            end
        end
        i = i + 1
    end
    return out
end

function init(args)
    math.randomseed(os.time() + tid * 7919)
    statuses = {}
    wrapped = 0
    idx = 0
    if kind == "signed" then
        reqs = load_signed(os.getenv("BENCH_DATA"), os.getenv("BENCH_PATH"), os.getenv("BENCH_SIG_HEADER"),
                           os.getenv("BENCH_CTYPE"), true)
    elseif kind == "mix" then
        help = load_signed(os.getenv("BENCH_DATA"), "/api/twilio/inbound", "X-Twilio-Signature",
                           "application/x-www-form-urlencoded", true)
        hidx = 0
        secret = os.getenv("BENCH_SECRET")
        auth = os.getenv("BENCH_AUTH")
    else
        method = os.getenv("BENCH_METHOD") or "GET"
        path = os.getenv("BENCH_PATH")
        headers = parse_headers(os.getenv("BENCH_HEADERS"))
        body = os.getenv("BENCH_BODY")
        if os.getenv("BENCH_BODY_FILE") then
            local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
            body = f:read("*a")
            f:close()
        end
        if body == "" then body = nil end
        dynamic = body and body:find("{slot}", 1, true)
        if not dynamic then
            fixed = wrk.format(method, path, headers, body)
        end
    end
end

function request()
    if kind == "signed" then
        idx = idx + 1
        if idx > #reqs then
            idx = 1
            wrapped = wrapped + 1
        end
        return reqs[idx]
    elseif kind == "mix" then
        idx = idx + 1
        local m = idx % 4
        if m == 0 then
            return wrk.format("GET", "/app/appointments", {["Authorization"] = auth})
        elseif m == 1 then
            return wrk.format("POST", "/api/jobs/offer-loop", {["x-internal-secret"] = secret,
                ["Content-Type"] = "application/json"}, '{"slotOpeningId":"' .. random_slot() .. '"}')
        elseif m == 2 then
            return wrk.format("GET", "/api/slot-openings/" .. random_slot(), {["x-internal-secret"] = secret})
        else
            hidx = hidx + 1
            if hidx > #help then
                hidx = 1
                wrapped = wrapped + 1
            end
            return help[hidx]
        end
    end
    if dynamic then
        return wrk.format(method, path, headers, (body:gsub("{slot}", tostring(random_slot()))))
    end
    return fixed
end

function response(status, hdrs, b)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local st, wr = {}, 0
    for _, t in ipairs(threads) do
        local s = t:get("statuses")
        for code, n in pairs(s or {}) do
            st[tostring(code)] = (st[tostring(code)] or 0) + n
        end
        wr = wr + (t:get("wrapped") or 0)
    end
    local parts = {}
    for code, n in pairs(st) do
        parts[#parts + 1] = string.format('"%s": %d', code, n)
    end
    local e = summary.errors
    io.write(string.format(
        'BENCHJSON {"requests": %d, "duration_us": %d, "rps": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
        '"p999_us": %d, "max_us": %d, "mean_us": %.1f, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
        '"status": %d, "timeout": %d}, "statuses": {%s}, "wrapped": %d}\n',
        summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
        latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
        table.concat(parts, ", "), wr))
end
