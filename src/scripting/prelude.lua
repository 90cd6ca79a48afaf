-- Sluice's script sandbox, run once when the interpreter starts.
--
-- Arguments: G, the interpreter's real globals table; H, a private table of
-- helpers (H.errtext, H.rawset, H.setmetatable); redis, the `redis` table
-- the Rust side built (its functions are Rust functions: a Lua wrapper
-- would lose the script's line to a tail call). Returns the table every
-- script runs with as its environment: an empty proxy that reads through
-- to G, refuses every write, and raises an error for a global that does
-- not exist, as Redis's globals protection does. KEYS and ARGV are set on
-- the proxy itself, with rawset, before each run.
local G, H, redis = ...

local rawset_raw, rawget, setmetatable_raw = rawset, rawget, setmetatable
local error, type, tostring = error, type, tostring
local pcall_raw, setfenv_raw = pcall, setfenv
local loadstring_raw, load_raw = loadstring, load

-- Tables a script may read but never change.
local readonly = H.readonly

local function deny()
  error('Attempt to modify a readonly table', 2)
end

-- What getmetatable shows for a protected table: an empty table that
-- refuses writes too.
local shown = setmetatable_raw({}, { __newindex = deny })
readonly[shown] = true
setmetatable_raw(shown, { __newindex = deny, __metatable = shown })

local function protect(t)
  local proxy = setmetatable_raw({}, { __index = t, __newindex = deny, __metatable = shown })
  readonly[proxy] = true
  return proxy
end

local env = {}
setmetatable_raw(env, {
  __index = function(_, name)
    local v = rawget(G, name)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end
    return v
  end,
  __newindex = deny,
  __metatable = shown,
})
readonly[env] = true

-- raw writes and metatable changes are refused on protected tables too
-- (Rust functions, so that a script's `return rawset(...)` keeps its
-- line in the error).
G.rawset = H.rawset
G.setmetatable = H.setmetatable

-- Code loaded at run time sees the same protected globals.
-- Precompiled (binary) chunks are refused, as Redis refuses them.
G.loadstring = function(s, ...)
  if type(s) == 'string' and s:byte(1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  local f, e = loadstring_raw(s, ...)
  if f then
    setfenv_raw(f, env)
  end
  return f, e
end
G.load = function(...)
  local f, e = load_raw(...)
  if f then
    setfenv_raw(f, env)
  end
  return f, e
end

-- pcall hands a script the text of an error raised by redis.call (a table
-- {err=...} inside) rather than the table, as Redis 7's pcall does.
-- SCRIPT KILL's error is not for the script to catch: it is raised again.
local function unwrap(ok, ...)
  if ok then
    return ok, ...
  end
  local e = ...
  if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then
    e = rawget(e, 'err')
  elseif type(e) == 'userdata' then
    e = H.errtext(e)
    if e == H.killed then
      error((...), 0)
    end
  end
  return false, e
end
G.pcall = function(...)
  return unwrap(pcall_raw(...))
end

-- What Redis does not offer a script.
for _, name in ipairs({ 'loadfile', 'dofile', 'print', 'require', 'module', 'getfenv',
  'setfenv', 'newproxy', 'io', 'package', 'debug' }) do
  rawset_raw(G, name, nil)
end
local clock = G.os and G.os.clock
G.os = protect({ clock = clock })

G.redis = protect(redis)
for _, name in ipairs({ 'string', 'table', 'math', 'coroutine', 'cjson', 'bit', 'struct', 'cmsgpack' }) do
  if rawget(G, name) ~= nil then
    G[name] = protect(G[name])
  end
end
G._G = env
return env
