"""Scripting against Redis and Sluice: EVAL, EVALSHA, EVAL_RO, SCRIPT, the
Lua sandbox, redis.call/pcall errors and the Lua <-> reply conversions, in
RESP2 and RESP3, compared byte for byte on a raw socket (the SHA1 in
Redis 7's "script: <sha>, on @user_script:<line>." suffix is masked only
to keep the table short: it is the SHA1 of the script body, which the
cases below check separately with SCRIPT LOAD and redis.sha1hex).

The expected bytes were taken from redis-server 7.0.15; every case runs
against both servers."""

import hashlib
import re

import pytest

from test_stream_groups_util import RawConn


def masked(reply):
    return re.sub(rb"script: [0-9a-f]{40}", b"script: SHA", reply)


CASES = [
    (2, ['eval', 'return 1', '0'], b':1\r\n'),
    (2, ['eval', 'return 1.9', '0'], b':1\r\n'),
    (2, ['eval', 'return -1.9', '0'], b':-1\r\n'),
    (2, ['eval', 'return {1,2,nil,3}', '0'], b'*2\r\n:1\r\n:2\r\n'),
    (2, ['eval', 'return true', '0'], b':1\r\n'),
    (2, ['eval', 'return false', '0'], b'$-1\r\n'),
    (2, ['eval', 'return nil', '0'], b'$-1\r\n'),
    (2, ['eval', 'x=1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return x', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: SHA, on @user_script:1.\r\n"),
    (2, ['eval', 'print(1)', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: SHA, on @user_script:1.\r\n"),
    (2, ['eval', 'return loadfile', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile' script: SHA, on @user_script:1.\r\n"),
    (2, ['eval', "return redis.call('nosuch')", '0'], b'-ERR Unknown Redis command called from script script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return redis.call('get')", '0'], b'-ERR Wrong number of args calling Redis command from script script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return redis.pcall('get')", '0'], b'-ERR Wrong number of args calling Redis command from script\r\n'),
    (2, ['eval', "error('x')", '0'], b'-ERR user_script:1: x script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "\n\nerror('x')", '0'], b'-ERR user_script:3: x script: SHA, on @user_script:3.\r\n'),
    (2, ['eval', "return {err='boom'}", '0'], b'-boom\r\n'),
    (2, ['eval', "return redis.error_reply('My Error')", '0'], b'-My Error\r\n'),
    (2, ['eval', "return redis.status_reply('FINE')", '0'], b'+FINE\r\n'),
    (2, ['eval', "return {ok='fine'}", '0'], b'+fine\r\n'),
    (2, ['eval', "return redis.call('incr', KEYS[1])", '1', 'str'], b'-ERR value is not an integer or out of range script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return redis.pcall('incr', KEYS[1])", '1', 'str'], b'-ERR value is not an integer or out of range\r\n'),
    (2, ['eval', "return 'x", '0'], b"-ERR Error compiling script (new function): user_script:1: unfinished string near '<eof>'\r\n"),
    (2, ['eval', 'return 1', '-1'], b"-ERR Number of keys can't be negative\r\n"),
    (2, ['eval', 'return 1', '3', 'a'], b"-ERR Number of keys can't be greater than number of args\r\n"),
    (2, ['eval', 'return 1', 'x'], b'-ERR value is not an integer or out of range\r\n'),
    (2, ['evalsha', 'ffffffffffffffffffffffffffffffffffffffff', '0'], b'-NOSCRIPT No matching script. Please use EVAL.\r\n'),
    (2, ['evalsha', 'fff', '0'], b'-NOSCRIPT No matching script. Please use EVAL.\r\n'),
    (2, ['eval', "return redis.call('multi')", '0'], b'-ERR This Redis command is not allowed from script script: SHA, on @user_script:1.\r\n'),
    (2, ['eval_ro', "return redis.call('set','a','b')", '0'], b'-ERR Write commands are not allowed from read-only scripts. script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "#!lua flags=no-writes\nreturn redis.call('set','a','b')", '0'], b'-ERR Write commands are not allowed from read-only scripts. script: SHA, on @user_script:2.\r\n'),
    (2, ['eval', "error({err='xyz'})", '0'], b'-xyz script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "local ok, e = pcall(redis.call, 'incr', 'str'); return e", '0'], b'$43\r\nERR value is not an integer or out of range\r\n'),
    (2, ['eval', 'local t = nil; return t.x', '0'], b"-ERR user_script:1: attempt to index local 't' (a nil value) script: SHA, on @user_script:1.\r\n"),
    (2, ['eval', "return redis.error_reply('-X y')", '0'], b'-X y\r\n'),
    (2, ['eval', "return redis.status_reply('-X y')", '0'], b'+-X y\r\n'),
    (2, ['eval', "return {type(redis.call('get', 'nokey'))}", '0'], b'*1\r\n$7\r\nboolean\r\n'),
    (2, ['eval', "return redis.call('set', 'k', 'v')", '0'], b'+OK\r\n'),
    (2, ['eval', "return redis.sha1hex('')", '0'], b'$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n'),
    (2, ['eval', 'return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}', '0'], b'*9\r\n:0\r\n:1\r\n:2\r\n:3\r\n:0\r\n:1\r\n:2\r\n:2\r\n:3\r\n'),
    (2, ['eval', 'return redis.replicate_commands()', '0'], b':1\r\n'),
    (2, ['eval', 'return redis.set_repl(redis.REPL_ALL)', '0'], b'$-1\r\n'),
    (2, ['eval', 'return redis.set_repl(99)', '0'], b'-ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE. script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return redis.acl_check_cmd('get','x')", '0'], b':1\r\n'),
    (2, ['eval', "return redis.acl_check_cmd('nosuch','x')", '0'], b'-ERR Invalid command passed to redis.acl_check_cmd() script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return redis.setresp(4)', '0'], b'-ERR RESP version must be 2 or 3. script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return redis.call()', '0'], b'-ERR Please specify at least one argument for this redis lib call script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return redis.call(1)', '0'], b'-ERR Unknown Redis command called from script script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return redis.call('get', {})", '0'], b'-ERR Lua redis lib command arguments must be strings or integers script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return redis.call('set', 'x', 1.5)", '0'], b'+OK\r\n'),
    (2, ['eval', "return redis.call('get', 'x')", '0'], b'$3\r\n1.5\r\n'),
    (2, ['eval', 'return redis.breakpoint()', '0'], b'$-1\r\n'),
    (2, ['eval', "return redis.debug('x')", '0'], b'$-1\r\n'),
    (2, ['eval', 'return redis.log(redis.LOG_WARNING)', '0'], b'-ERR redis.log() requires two arguments or more. script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'redis = 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'redis.call = 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'string.foo = 1; return 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'local t = {}; setmetatable(_G, nil)', '0'], b'-ERR Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return rawset(_G, 'x', 1)", '0'], b'-ERR Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return {pcall(redis.call, 'nosuch')}", '0'], b'*2\r\n$-1\r\n$44\r\nERR Unknown Redis command called from script\r\n'),
    (2, ['eval', 'return _VERSION', '0'], b'$7\r\nLua 5.1\r\n'),
    (2, ['eval', 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}', '2', 'a', 'b', 'c', 'd'], b'*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n:2\r\n:2\r\n'),
    (2, ['eval', "return {1,{2,3},'x',{ok='a'},{err='b'}, true, false, 3.7}", '0'], b'*8\r\n:1\r\n*2\r\n:2\r\n:3\r\n$1\r\nx\r\n+a\r\n-b\r\n:1\r\n$-1\r\n:3\r\n'),
    (2, ['eval', "return loadstring('return 5')()", '0'], b':5\r\n'),
    (2, ['eval', "return loadstring('y = 5')()", '0'], b'-ERR [string "y = 5"]:1: Attempt to modify a readonly table script: SHA, on y = 5:1.\r\n'),
    (2, ['script', 'load', "return 'loaded'"], b'$40\r\nb534286061d4b9e4026607613b95c06c06015ae8\r\n'),
    (2, ['script', 'flush', 'x'], b'-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n'),
    (2, ['script', 'flush', 'async'], b'+OK\r\n'),
    (2, ['script', 'kill'], b'-NOTBUSY No scripts in execution right now.\r\n'),
    (2, ['script', 'exists'], b"-ERR wrong number of arguments for 'script|exists' command\r\n"),
    (2, ['script', 'nosuch'], b"-ERR unknown subcommand 'nosuch'. Try SCRIPT HELP.\r\n"),
    (2, ['eval', 'return {double=3.5}', '0'], b'$3\r\n3.5\r\n'),
    (2, ['eval', 'return {map={a=1}}', '0'], b'*2\r\n$1\r\na\r\n:1\r\n'),
    (2, ['eval', 'return {set={a=true}}', '0'], b'*1\r\n$1\r\na\r\n'),
    (2, ['eval', "return {big_number='123'}", '0'], b'$3\r\n123\r\n'),
    (2, ['eval', "return {verbatim_string={format='txt', string='hi'}}", '0'], b'$2\r\nhi\r\n'),
    (2, ['eval', 'return true', '0'], b':1\r\n'),
    (2, ['eval', 'return false', '0'], b'$-1\r\n'),
    (2, ['eval', 'return nil', '0'], b'$-1\r\n'),
    (2, ['eval', 'redis.setresp(3); return true', '0'], b':1\r\n'),
    (2, ['eval', 'redis.setresp(3); return false', '0'], b':0\r\n'),
    (2, ['eval', "redis.setresp(3); return redis.call('get', 'nokey')", '0'], b'$-1\r\n'),
    (2, ['eval', "redis.setresp(3); return type(redis.call('get', 'nokey'))", '0'], b'$3\r\nnil\r\n'),
    (2, ['eval', "return type(redis.call('get', 'nokey'))", '0'], b'$7\r\nboolean\r\n'),
    (2, ['eval', "redis.setresp(3); local r = redis.call('zrange', 'z', 0, -1, 'withscores'); return {type(r[1]), type(r[1][2])}", '0'], b'*2\r\n$5\r\ntable\r\n$5\r\ntable\r\n'),
    (2, ['eval', "local r = redis.call('zrange', 'z', 0, -1, 'withscores'); return r", '0'], b'*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n'),
    (2, ['eval', "redis.setresp(3); return redis.call('zrange', 'z', 0, -1, 'withscores')", '0'], b'*2\r\n*2\r\n$1\r\na\r\n$3\r\n1.5\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n'),
    (2, ['eval', "redis.setresp(3); return redis.call('zscore', 'z', 'a')", '0'], b'$3\r\n1.5\r\n'),
    (2, ['eval', "return redis.call('zscore', 'z', 'a')", '0'], b'$3\r\n1.5\r\n'),
    (2, ['eval', "redis.setresp(3); return redis.call('config', 'get', 'maxmemory')", '0'], b'-ERR This Redis command is not allowed from script script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return redis.call('config', 'get', 'maxmemory')", '0'], b'-ERR This Redis command is not allowed from script script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return 1', '0'], b':1\r\n'),
    (3, ['eval', 'return 1.9', '0'], b':1\r\n'),
    (3, ['eval', 'return -1.9', '0'], b':-1\r\n'),
    (3, ['eval', 'return {1,2,nil,3}', '0'], b'*2\r\n:1\r\n:2\r\n'),
    (3, ['eval', 'return true', '0'], b':1\r\n'),
    (3, ['eval', 'return false', '0'], b'_\r\n'),
    (3, ['eval', 'return nil', '0'], b'_\r\n'),
    (3, ['eval', 'x=1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return x', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: SHA, on @user_script:1.\r\n"),
    (3, ['eval', 'print(1)', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: SHA, on @user_script:1.\r\n"),
    (3, ['eval', 'return loadfile', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile' script: SHA, on @user_script:1.\r\n"),
    (3, ['eval', "return redis.call('nosuch')", '0'], b'-ERR Unknown Redis command called from script script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return redis.call('get')", '0'], b'-ERR Wrong number of args calling Redis command from script script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return redis.pcall('get')", '0'], b'-ERR Wrong number of args calling Redis command from script\r\n'),
    (3, ['eval', "error('x')", '0'], b'-ERR user_script:1: x script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "\n\nerror('x')", '0'], b'-ERR user_script:3: x script: SHA, on @user_script:3.\r\n'),
    (3, ['eval', "return {err='boom'}", '0'], b'-boom\r\n'),
    (3, ['eval', "return redis.error_reply('My Error')", '0'], b'-My Error\r\n'),
    (3, ['eval', "return redis.status_reply('FINE')", '0'], b'+FINE\r\n'),
    (3, ['eval', "return {ok='fine'}", '0'], b'+fine\r\n'),
    (3, ['eval', "return redis.call('incr', KEYS[1])", '1', 'str'], b'-ERR value is not an integer or out of range script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return redis.pcall('incr', KEYS[1])", '1', 'str'], b'-ERR value is not an integer or out of range\r\n'),
    (3, ['eval', "return 'x", '0'], b"-ERR Error compiling script (new function): user_script:1: unfinished string near '<eof>'\r\n"),
    (3, ['eval', 'return 1', '-1'], b"-ERR Number of keys can't be negative\r\n"),
    (3, ['eval', 'return 1', '3', 'a'], b"-ERR Number of keys can't be greater than number of args\r\n"),
    (3, ['eval', 'return 1', 'x'], b'-ERR value is not an integer or out of range\r\n'),
    (3, ['evalsha', 'ffffffffffffffffffffffffffffffffffffffff', '0'], b'-NOSCRIPT No matching script. Please use EVAL.\r\n'),
    (3, ['evalsha', 'fff', '0'], b'-NOSCRIPT No matching script. Please use EVAL.\r\n'),
    (3, ['eval', "return redis.call('multi')", '0'], b'-ERR This Redis command is not allowed from script script: SHA, on @user_script:1.\r\n'),
    (3, ['eval_ro', "return redis.call('set','a','b')", '0'], b'-ERR Write commands are not allowed from read-only scripts. script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "#!lua flags=no-writes\nreturn redis.call('set','a','b')", '0'], b'-ERR Write commands are not allowed from read-only scripts. script: SHA, on @user_script:2.\r\n'),
    (3, ['eval', "error({err='xyz'})", '0'], b'-xyz script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "local ok, e = pcall(redis.call, 'incr', 'str'); return e", '0'], b'$43\r\nERR value is not an integer or out of range\r\n'),
    (3, ['eval', 'local t = nil; return t.x', '0'], b"-ERR user_script:1: attempt to index local 't' (a nil value) script: SHA, on @user_script:1.\r\n"),
    (3, ['eval', "return redis.error_reply('-X y')", '0'], b'-X y\r\n'),
    (3, ['eval', "return redis.status_reply('-X y')", '0'], b'+-X y\r\n'),
    (3, ['eval', "return {type(redis.call('get', 'nokey'))}", '0'], b'*1\r\n$7\r\nboolean\r\n'),
    (3, ['eval', "return redis.call('set', 'k', 'v')", '0'], b'+OK\r\n'),
    (3, ['eval', "return redis.sha1hex('')", '0'], b'$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n'),
    (3, ['eval', 'return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}', '0'], b'*9\r\n:0\r\n:1\r\n:2\r\n:3\r\n:0\r\n:1\r\n:2\r\n:2\r\n:3\r\n'),
    (3, ['eval', 'return redis.replicate_commands()', '0'], b':1\r\n'),
    (3, ['eval', 'return redis.set_repl(redis.REPL_ALL)', '0'], b'_\r\n'),
    (3, ['eval', 'return redis.set_repl(99)', '0'], b'-ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE. script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return redis.acl_check_cmd('get','x')", '0'], b':1\r\n'),
    (3, ['eval', "return redis.acl_check_cmd('nosuch','x')", '0'], b'-ERR Invalid command passed to redis.acl_check_cmd() script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return redis.setresp(4)', '0'], b'-ERR RESP version must be 2 or 3. script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return redis.call()', '0'], b'-ERR Please specify at least one argument for this redis lib call script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return redis.call(1)', '0'], b'-ERR Unknown Redis command called from script script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return redis.call('get', {})", '0'], b'-ERR Lua redis lib command arguments must be strings or integers script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return redis.call('set', 'x', 1.5)", '0'], b'+OK\r\n'),
    (3, ['eval', "return redis.call('get', 'x')", '0'], b'$3\r\n1.5\r\n'),
    (3, ['eval', 'return redis.breakpoint()', '0'], b'_\r\n'),
    (3, ['eval', "return redis.debug('x')", '0'], b'_\r\n'),
    (3, ['eval', 'return redis.log(redis.LOG_WARNING)', '0'], b'-ERR redis.log() requires two arguments or more. script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'redis = 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'redis.call = 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'string.foo = 1; return 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'local t = {}; setmetatable(_G, nil)', '0'], b'-ERR Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return rawset(_G, 'x', 1)", '0'], b'-ERR Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return {pcall(redis.call, 'nosuch')}", '0'], b'*2\r\n_\r\n$44\r\nERR Unknown Redis command called from script\r\n'),
    (3, ['eval', 'return _VERSION', '0'], b'$7\r\nLua 5.1\r\n'),
    (3, ['eval', 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}', '2', 'a', 'b', 'c', 'd'], b'*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n:2\r\n:2\r\n'),
    (3, ['eval', "return {1,{2,3},'x',{ok='a'},{err='b'}, true, false, 3.7}", '0'], b'*8\r\n:1\r\n*2\r\n:2\r\n:3\r\n$1\r\nx\r\n+a\r\n-b\r\n:1\r\n_\r\n:3\r\n'),
    (3, ['eval', "return loadstring('return 5')()", '0'], b':5\r\n'),
    (3, ['eval', "return loadstring('y = 5')()", '0'], b'-ERR [string "y = 5"]:1: Attempt to modify a readonly table script: SHA, on y = 5:1.\r\n'),
    (3, ['script', 'load', "return 'loaded'"], b'$40\r\nb534286061d4b9e4026607613b95c06c06015ae8\r\n'),
    (3, ['script', 'flush', 'x'], b'-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n'),
    (3, ['script', 'flush', 'async'], b'+OK\r\n'),
    (3, ['script', 'kill'], b'-NOTBUSY No scripts in execution right now.\r\n'),
    (3, ['script', 'exists'], b"-ERR wrong number of arguments for 'script|exists' command\r\n"),
    (3, ['script', 'nosuch'], b"-ERR unknown subcommand 'nosuch'. Try SCRIPT HELP.\r\n"),
    (3, ['eval', 'return {double=3.5}', '0'], b',3.5\r\n'),
    (3, ['eval', 'return {map={a=1}}', '0'], b'%1\r\n$1\r\na\r\n:1\r\n'),
    (3, ['eval', 'return {set={a=true}}', '0'], b'~1\r\n$1\r\na\r\n'),
    (3, ['eval', "return {big_number='123'}", '0'], b'(123\r\n'),
    (3, ['eval', "return {verbatim_string={format='txt', string='hi'}}", '0'], b'=6\r\ntxt:hi\r\n'),
    (3, ['eval', 'return true', '0'], b':1\r\n'),
    (3, ['eval', 'return false', '0'], b'_\r\n'),
    (3, ['eval', 'return nil', '0'], b'_\r\n'),
    (3, ['eval', 'redis.setresp(3); return true', '0'], b'#t\r\n'),
    (3, ['eval', 'redis.setresp(3); return false', '0'], b'#f\r\n'),
    (3, ['eval', "redis.setresp(3); return redis.call('get', 'nokey')", '0'], b'_\r\n'),
    (3, ['eval', "redis.setresp(3); return type(redis.call('get', 'nokey'))", '0'], b'$3\r\nnil\r\n'),
    (3, ['eval', "return type(redis.call('get', 'nokey'))", '0'], b'$7\r\nboolean\r\n'),
    (3, ['eval', "redis.setresp(3); local r = redis.call('zrange', 'z', 0, -1, 'withscores'); return {type(r[1]), type(r[1][2])}", '0'], b'*2\r\n$5\r\ntable\r\n$5\r\ntable\r\n'),
    (3, ['eval', "local r = redis.call('zrange', 'z', 0, -1, 'withscores'); return r", '0'], b'*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n'),
    (3, ['eval', "redis.setresp(3); return redis.call('zrange', 'z', 0, -1, 'withscores')", '0'], b'*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n'),
    (3, ['eval', "redis.setresp(3); return redis.call('zscore', 'z', 'a')", '0'], b',1.5\r\n'),
    (3, ['eval', "return redis.call('zscore', 'z', 'a')", '0'], b'$3\r\n1.5\r\n'),
    (3, ['eval', "redis.setresp(3); return redis.call('config', 'get', 'maxmemory')", '0'], b'-ERR This Redis command is not allowed from script script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return redis.call('config', 'get', 'maxmemory')", '0'], b'-ERR This Redis command is not allowed from script script: SHA, on @user_script:1.\r\n'),
]


def test_script_cases(server):
    """Each protocol's cases in order on one connection (some depend on
    keys the earlier ones wrote)."""
    setup = RawConn(server)
    for args in (["set", "str", "abc"], ["zadd", "z", "1.5", "a", "2", "b"]):
        setup.send(*args)
        setup.read_reply()
    for protocol in (2, 3):
        conn = RawConn(server, protocol)
        for proto, args, expected in CASES:
            if proto != protocol:
                continue
            conn.send(*args)
            got = masked(conn.read_reply())
            assert got == expected, (protocol, args)


def test_error_suffix_names_the_sha_and_line(r):
    body = "local a = 1\nreturn redis.call('incr', KEYS[1])"
    r.set("s", "notanumber")
    sha = r.script_load(body)
    with pytest.raises(Exception) as e:
        r.eval(body, 1, "s")
    assert str(e.value) == (
        f"value is not an integer or out of range script: {sha}, on @user_script:2."
    )


def test_evalsha_and_script_exists(r):
    sha = r.script_load("return ARGV[1]")
    assert sha == hashlib.sha1(b"return ARGV[1]").hexdigest()
    assert r.evalsha(sha, 0, "x") == b"x"
    assert r.evalsha(sha.upper(), 0, "y") == b"y"
    assert r.script_exists(sha, "0" * 40) == [True, False]
    r.eval("return 1", 0)
    assert r.script_exists(hashlib.sha1(b"return 1").hexdigest()) == [True]
    assert r.script_flush() is True
    assert r.script_exists(sha) == [False]


def test_script_writes_and_keys(r):
    script = """
        redis.call('set', KEYS[1], ARGV[1])
        redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
        return {redis.call('get', KEYS[1]), redis.call('zscore', KEYS[2], ARGV[1])}
    """
    assert r.eval(script, 2, "k", "zk", "v", "7") == [b"v", b"7"]
    assert r.get("k") == b"v"
    assert r.zscore("zk", "v") == 7.0


def test_select_inside_script_is_local(r):
    r.set("k", "db0")
    assert r.eval("redis.call('select', 1); redis.call('set', 'k', 'db1'); return 1", 0) == 1
    assert r.get("k") == b"db0"
    r.select(1)
    assert r.get("k") == b"db1"


def test_script_in_multi(r):
    p = r.pipeline(transaction=True)
    p.eval("return redis.call('incr', KEYS[1])", 1, "n")
    p.eval("return redis.call('incr', KEYS[1])", 1, "n")
    assert p.execute() == [1, 2]


def test_acl_inside_script(start_server, kind):
    srv = start_server(kind)
    admin = srv.client()
    admin.execute_command("ACL", "SETUSER", "bob", "on", "nopass", "+eval", "+get", "~k*")
    bob = srv.client()
    bob.execute_command("AUTH", "bob", "x")
    with pytest.raises(Exception) as e:
        bob.eval("return redis.call('set', 'k', 'v')", 0)
    assert str(e.value).startswith(
        "The user executing the script can't run this command or subcommand script: "
    )
    with pytest.raises(Exception) as e:
        bob.eval("return redis.call('get', 'x')", 0)
    assert "can't access at least one of the keys" in str(e.value)
    assert bob.eval("return redis.acl_check_cmd('set', 'k', 'v')", 0) is None
    assert bob.eval("return redis.acl_check_cmd('get', 'k1')", 0) == 1
    raw = RawConn(srv)
    raw.send("ACL", "LOG")
    log = raw.read_reply()
    assert log.count(b"$7\r\ncontext\r\n$3\r\nlua\r\n") == 2
    assert b"$6\r\nreason\r\n$3\r\nkey\r\n" in log
    assert b"$6\r\nreason\r\n$7\r\ncommand\r\n" in log


def test_redis_py_lock(r):
    """redis-py's Lock acquires with SET NX PX and releases and extends with
    registered scripts (EVALSHA, falling back to EVAL on NOSCRIPT)."""
    lock = r.lock("resource", timeout=10)
    assert lock.acquire(blocking=False)
    other = r.lock("resource", timeout=10)
    assert not other.acquire(blocking=False)
    assert lock.extend(5)
    assert lock.owned()
    lock.release()
    assert r.get("resource") is None
    assert other.acquire(blocking=False)
    other.release()


# cjson, cmsgpack and bit: outputs and error texts, as redis-server 7.0.15 gives them.
LIB_CASES = [
    (2, ['eval', 'return cjson.encode({1,2,{a=1}})', '0'], b'$13\r\n[1,2,{"a":1}]\r\n'),
    (2, ['eval', 'return cjson.encode({a=\'x/y"z\\n\', b=1.5, c=true, d=cjson.null})', '0'], b'$43\r\n{"a":"x\\/y\\"z\\n","d":null,"c":true,"b":1.5}\r\n'),
    (2, ['eval', 'return cjson.encode({})', '0'], b'$2\r\n{}\r\n'),
    (2, ['eval', 'return cjson.encode({[1]=1,[5]=2})', '0'], b'$20\r\n[1,null,null,null,2]\r\n'),
    (2, ['eval', 'return cjson.encode({[1]=1,[20]=2})', '0'], b'-ERR user_script:1: Cannot serialise table: excessively sparse array script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cjson.encode({[false]=1})', '0'], b'-ERR user_script:1: Cannot serialise boolean: table key must be a number or string script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cjson.encode(0/0)', '0'], b'-ERR user_script:1: Cannot serialise number: must not be NaN or Inf script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cjson.encode(1e20)', '0'], b'$5\r\n1e+20\r\n'),
    (2, ['eval', 'return cjson.encode(0.1)', '0'], b'$3\r\n0.1\r\n'),
    (2, ['eval', 'return cjson.encode(print)', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: SHA, on @user_script:1.\r\n"),
    (2, ['eval', 'return cjson.encode(function() end)', '0'], b'-ERR user_script:1: Cannot serialise function: type not supported script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return cjson.encode('\\1\\127\\200')", '0'], b'$15\r\n"\\u0001\\u007f\xc8"\r\n'),
    (2, ['eval', "return cjson.decode('x')", '0'], b'-ERR user_script:1: Expected value but found invalid token at character 1 script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return cjson.decode('[1,2')", '0'], b'-ERR user_script:1: Expected comma or array end but found T_END at character 5 script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return cjson.decode('[1,2]x')", '0'], b'-ERR user_script:1: Expected the end but found invalid token at character 6 script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return cjson.decode('{1:2}')", '0'], b'-ERR user_script:1: Expected object key string but found T_NUMBER at character 2 script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cjson.decode(\'{"a" 2}\')', '0'], b'-ERR user_script:1: Expected colon but found T_NUMBER at character 6 script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cjson.decode(\'{"a":2 3}\')', '0'], b'-ERR user_script:1: Expected comma or object end but found T_NUMBER at character 8 script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cjson.decode(\'"abc\')', '0'], b'-ERR user_script:1: Expected value but found unexpected end of string at character 5 script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cjson.decode(\'"\\\\u00e9\\\\ud83d\\\\ude00"\')', '0'], b'$6\r\n\xc3\xa9\xf0\x9f\x98\x80\r\n'),
    (2, ['eval', "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')", '0'], b'$26\r\n0 -5000 -1 0.0003 1023.2 0\r\n'),
    (2, ['eval', 'local t = cjson.decode(\'{"a":[1,2,{"b":null}]}\'); return {t.a[1], tostring(t.a[3].b == cjson.null)}', '0'], b'*2\r\n:1\r\n$4\r\ntrue\r\n'),
    (2, ['eval', "cjson.decode_max_depth(1); local ok, e = pcall(cjson.decode, '[[1]]'); cjson.decode_max_depth(1000); return e", '0'], b'$56\r\nFound too many nested data structures (2) at character 2\r\n'),
    (2, ['eval', 'cjson.encode_max_depth(1); local ok, e = pcall(cjson.encode, {{1}}); cjson.encode_max_depth(1000); return e', '0'], b'$39\r\nCannot serialise, excessive nesting (2)\r\n'),
    (2, ['eval', 'return {cjson.encode_keep_buffer(), cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision()}', '0'], b'*4\r\n:1\r\n:1000\r\n:1000\r\n:14\r\n'),
    (2, ['eval', "return cmsgpack.pack({1,2,3}, {a=1}, 'abc', 1.5, 0.1, -1, -33, 300, 70000, 5000000000, true, false, nil)", '0'], b'$49\r\n\x93\x01\x02\x03\x81\xa1a\x01\xa3abc\xca?\xc0\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\xff\xd0\xdf\xcd\x01,\xce\x00\x01\x11p\xcf\x00\x00\x00\x01*\x05\xf2\x00\xc3\xc2\xc0\r\n'),
    (2, ['eval', "return {cmsgpack.unpack(cmsgpack.pack({1,2,3}, 'abc', 300))}", '0'], b'*3\r\n*3\r\n:1\r\n:2\r\n:3\r\n$3\r\nabc\r\n:300\r\n'),
    (2, ['eval', 'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 0)}', '0'], b'*2\r\n:1\r\n:1\r\n'),
    (2, ['eval', 'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 0)}', '0'], b'*3\r\n:2\r\n:1\r\n:2\r\n'),
    (2, ['eval', 'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)}', '0'], b'*2\r\n:-1\r\n:3\r\n'),
    (2, ['eval', "return cmsgpack.unpack('\\205')", '0'], b'-ERR user_script:1: Missing bytes in input. script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return cmsgpack.unpack('\\193')", '0'], b'-ERR user_script:1: Bad data format in input. script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'return cmsgpack.pack()', '0'], b"-ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.) script: SHA, on @user_script:1.\r\n"),
    (2, ['eval', "return cmsgpack.pack(string.rep('x', 40))", '0'], b'$42\r\n\xd9(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'),
    (2, ['eval', 'return {bit.tobit(1), bit.band(1), bit.bxor(1,2), bit.bor(1,2,4,8,16,32,64,128), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), bit.ror(1, 1), bit.bswap(0x12345678)}', '0'], b'*11\r\n:1\r\n:1\r\n:3\r\n:255\r\n:-1\r\n:-2147483648\r\n:15\r\n:-16\r\n:2\r\n:-2147483648\r\n:2018915346\r\n'),
    (2, ['eval', 'return {bit.tohex(65535, -2147483648), bit.tohex(255), bit.tohex(255, 2), bit.tohex(-1, -4), bit.tobit(4294967297), bit.tobit(2^31)}', '0'], b'*6\r\n$8\r\n0000FFFF\r\n$8\r\n000000ff\r\n$2\r\nff\r\n$4\r\nFFFF\r\n:1\r\n:-2147483648\r\n'),
    (2, ['eval', "return bit.band('x')", '0'], b"-ERR user_script:1: bad argument #1 to 'band' (number expected, got string) script: SHA, on @user_script:1.\r\n"),
    (2, ['eval', 'cjson.encode = 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', 'cmsgpack.pack = function() return 1 end', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (2, ['eval', "return cjson.encode({1, 'a', {b={c={1.25, false}}}})", '0'], b'$32\r\n[1,"a",{"b":{"c":[1.25,false]}}]\r\n'),
    (2, ['eval', 'local t = cjson.decode(\'[1,"two",{"three":3},[4],true,false]\'); return {t[1], t[2], t[3].three, t[4][1], t[5], tostring(t[6])}', '0'], b'*6\r\n:1\r\n$3\r\ntwo\r\n:3\r\n:4\r\n:1\r\n$5\r\nfalse\r\n'),
    (2, ['eval', "return cmsgpack.pack({x={y={1,2}}, z='s'})", '0'], b'$13\r\n\x82\xa1z\xa1s\xa1x\x81\xa1y\x92\x01\x02\r\n'),
    (2, ['eval', "local a = {x=nil,y=5}; local b = {x=a}; a['x'] = b; return cmsgpack.pack(a)", '0'], b'$73\r\n\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\xc0\r\n'),
    (2, ['eval', "local t = cmsgpack.unpack(cmsgpack.pack({a={1,2,3}, b='x', c=1.5})); return {t.a[3], t.b, tostring(t.c)}", '0'], b'*3\r\n:3\r\n$1\r\nx\r\n$3\r\n1.5\r\n'),
    (2, ['eval', 'return cmsgpack.pack(2^40, -3147483648, 65530, 100000, -32000, -100000)', '0'], b'$34\r\n\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xd3\xff\xff\xff\xffDe6\x00\xcd\xff\xfa\xce\x00\x01\x86\xa0\xd1\x83\x00\xd2\xff\xfey`\r\n'),
    (3, ['eval', 'return cjson.encode({1,2,{a=1}})', '0'], b'$13\r\n[1,2,{"a":1}]\r\n'),
    (3, ['eval', 'return cjson.encode({a=\'x/y"z\\n\', b=1.5, c=true, d=cjson.null})', '0'], b'$43\r\n{"a":"x\\/y\\"z\\n","d":null,"c":true,"b":1.5}\r\n'),
    (3, ['eval', 'return cjson.encode({})', '0'], b'$2\r\n{}\r\n'),
    (3, ['eval', 'return cjson.encode({[1]=1,[5]=2})', '0'], b'$20\r\n[1,null,null,null,2]\r\n'),
    (3, ['eval', 'return cjson.encode({[1]=1,[20]=2})', '0'], b'-ERR user_script:1: Cannot serialise table: excessively sparse array script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cjson.encode({[false]=1})', '0'], b'-ERR user_script:1: Cannot serialise boolean: table key must be a number or string script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cjson.encode(0/0)', '0'], b'-ERR user_script:1: Cannot serialise number: must not be NaN or Inf script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cjson.encode(1e20)', '0'], b'$5\r\n1e+20\r\n'),
    (3, ['eval', 'return cjson.encode(0.1)', '0'], b'$3\r\n0.1\r\n'),
    (3, ['eval', 'return cjson.encode(print)', '0'], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: SHA, on @user_script:1.\r\n"),
    (3, ['eval', 'return cjson.encode(function() end)', '0'], b'-ERR user_script:1: Cannot serialise function: type not supported script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return cjson.encode('\\1\\127\\200')", '0'], b'$15\r\n"\\u0001\\u007f\xc8"\r\n'),
    (3, ['eval', "return cjson.decode('x')", '0'], b'-ERR user_script:1: Expected value but found invalid token at character 1 script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return cjson.decode('[1,2')", '0'], b'-ERR user_script:1: Expected comma or array end but found T_END at character 5 script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return cjson.decode('[1,2]x')", '0'], b'-ERR user_script:1: Expected the end but found invalid token at character 6 script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return cjson.decode('{1:2}')", '0'], b'-ERR user_script:1: Expected object key string but found T_NUMBER at character 2 script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cjson.decode(\'{"a" 2}\')', '0'], b'-ERR user_script:1: Expected colon but found T_NUMBER at character 6 script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cjson.decode(\'{"a":2 3}\')', '0'], b'-ERR user_script:1: Expected comma or object end but found T_NUMBER at character 8 script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cjson.decode(\'"abc\')', '0'], b'-ERR user_script:1: Expected value but found unexpected end of string at character 5 script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cjson.decode(\'"\\\\u00e9\\\\ud83d\\\\ude00"\')', '0'], b'$6\r\n\xc3\xa9\xf0\x9f\x98\x80\r\n'),
    (3, ['eval', "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')", '0'], b'$26\r\n0 -5000 -1 0.0003 1023.2 0\r\n'),
    (3, ['eval', 'local t = cjson.decode(\'{"a":[1,2,{"b":null}]}\'); return {t.a[1], tostring(t.a[3].b == cjson.null)}', '0'], b'*2\r\n:1\r\n$4\r\ntrue\r\n'),
    (3, ['eval', "cjson.decode_max_depth(1); local ok, e = pcall(cjson.decode, '[[1]]'); cjson.decode_max_depth(1000); return e", '0'], b'$56\r\nFound too many nested data structures (2) at character 2\r\n'),
    (3, ['eval', 'cjson.encode_max_depth(1); local ok, e = pcall(cjson.encode, {{1}}); cjson.encode_max_depth(1000); return e', '0'], b'$39\r\nCannot serialise, excessive nesting (2)\r\n'),
    (3, ['eval', 'return {cjson.encode_keep_buffer(), cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision()}', '0'], b'*4\r\n:1\r\n:1000\r\n:1000\r\n:14\r\n'),
    (3, ['eval', "return cmsgpack.pack({1,2,3}, {a=1}, 'abc', 1.5, 0.1, -1, -33, 300, 70000, 5000000000, true, false, nil)", '0'], b'$49\r\n\x93\x01\x02\x03\x81\xa1a\x01\xa3abc\xca?\xc0\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\xff\xd0\xdf\xcd\x01,\xce\x00\x01\x11p\xcf\x00\x00\x00\x01*\x05\xf2\x00\xc3\xc2\xc0\r\n'),
    (3, ['eval', "return {cmsgpack.unpack(cmsgpack.pack({1,2,3}, 'abc', 300))}", '0'], b'*3\r\n*3\r\n:1\r\n:2\r\n:3\r\n$3\r\nabc\r\n:300\r\n'),
    (3, ['eval', 'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 0)}', '0'], b'*2\r\n:1\r\n:1\r\n'),
    (3, ['eval', 'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 0)}', '0'], b'*3\r\n:2\r\n:1\r\n:2\r\n'),
    (3, ['eval', 'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)}', '0'], b'*2\r\n:-1\r\n:3\r\n'),
    (3, ['eval', "return cmsgpack.unpack('\\205')", '0'], b'-ERR user_script:1: Missing bytes in input. script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return cmsgpack.unpack('\\193')", '0'], b'-ERR user_script:1: Bad data format in input. script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'return cmsgpack.pack()', '0'], b"-ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.) script: SHA, on @user_script:1.\r\n"),
    (3, ['eval', "return cmsgpack.pack(string.rep('x', 40))", '0'], b'$42\r\n\xd9(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'),
    (3, ['eval', 'return {bit.tobit(1), bit.band(1), bit.bxor(1,2), bit.bor(1,2,4,8,16,32,64,128), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), bit.ror(1, 1), bit.bswap(0x12345678)}', '0'], b'*11\r\n:1\r\n:1\r\n:3\r\n:255\r\n:-1\r\n:-2147483648\r\n:15\r\n:-16\r\n:2\r\n:-2147483648\r\n:2018915346\r\n'),
    (3, ['eval', 'return {bit.tohex(65535, -2147483648), bit.tohex(255), bit.tohex(255, 2), bit.tohex(-1, -4), bit.tobit(4294967297), bit.tobit(2^31)}', '0'], b'*6\r\n$8\r\n0000FFFF\r\n$8\r\n000000ff\r\n$2\r\nff\r\n$4\r\nFFFF\r\n:1\r\n:-2147483648\r\n'),
    (3, ['eval', "return bit.band('x')", '0'], b"-ERR user_script:1: bad argument #1 to 'band' (number expected, got string) script: SHA, on @user_script:1.\r\n"),
    (3, ['eval', 'cjson.encode = 1', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', 'cmsgpack.pack = function() return 1 end', '0'], b'-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n'),
    (3, ['eval', "return cjson.encode({1, 'a', {b={c={1.25, false}}}})", '0'], b'$32\r\n[1,"a",{"b":{"c":[1.25,false]}}]\r\n'),
    (3, ['eval', 'local t = cjson.decode(\'[1,"two",{"three":3},[4],true,false]\'); return {t[1], t[2], t[3].three, t[4][1], t[5], tostring(t[6])}', '0'], b'*6\r\n:1\r\n$3\r\ntwo\r\n:3\r\n:4\r\n:1\r\n$5\r\nfalse\r\n'),
    (3, ['eval', "return cmsgpack.pack({x={y={1,2}}, z='s'})", '0'], b'$13\r\n\x82\xa1z\xa1s\xa1x\x81\xa1y\x92\x01\x02\r\n'),
    (3, ['eval', "local a = {x=nil,y=5}; local b = {x=a}; a['x'] = b; return cmsgpack.pack(a)", '0'], b'$73\r\n\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\x82\xa1y\x05\xa1x\x81\xa1x\xc0\r\n'),
    (3, ['eval', "local t = cmsgpack.unpack(cmsgpack.pack({a={1,2,3}, b='x', c=1.5})); return {t.a[3], t.b, tostring(t.c)}", '0'], b'*3\r\n:3\r\n$1\r\nx\r\n$3\r\n1.5\r\n'),
    (3, ['eval', 'return cmsgpack.pack(2^40, -3147483648, 65530, 100000, -32000, -100000)', '0'], b'$34\r\n\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xd3\xff\xff\xff\xffDe6\x00\xcd\xff\xfa\xce\x00\x01\x86\xa0\xd1\x83\x00\xd2\xff\xfey`\r\n'),
]


def test_library_cases(server):
    for protocol in (2, 3):
        conn = RawConn(server, protocol)
        for proto, args, expected in LIB_CASES:
            if proto != protocol:
                continue
            conn.send(*args)
            got = masked(conn.read_reply())
            assert got == expected, (protocol, args)
