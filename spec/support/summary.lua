-- busted output handler: one line per test as it finishes, then a closing
-- line "N passed, M failed" (", K skipped" added when K > 0).
--
--   ok <name>
--   FAIL <name>
--       <message>
--       at <file>:<line>
--   skip <name>
--
-- Errors, in a test or outside one (a spec file that does not load, a
-- failing before_each, ...), are counted as failed.

local pretty = require 'pl.pretty'

local function out(line)
  io.write(line, '\n')
  io.flush()
end

local function indent(text)
  return '    ' .. text:gsub('\n', '\n    ')
end

return function(options)
  local busted = require 'busted'
  local handler = require 'busted.outputHandlers.base'()

  local function message_of(t)
    local message = t.message
    if message == nil then
      return 'nil error'
    elseif type(message) ~= 'string' then
      return pretty.write(message)
    end
    return message
  end

  -- Where it went wrong: the failing line if busted knows it, else the
  -- line that defined the test (or block).
  local function location_of(t)
    for _, trace in ipairs({ t.trace or {}, t.element.trace or {} }) do
      if trace.short_src and trace.currentline then
        return trace.short_src .. ':' .. trace.currentline
      end
    end
  end

  local function show_failure(t)
    out('FAIL ' .. (t.name ~= '' and t.name or '(unnamed)'))
    out(indent(message_of(t)))
    local location = location_of(t)
    -- the message usually starts with the same place: say it once
    if location and not message_of(t):find(location, 1, true) then
      out(indent('at ' .. location))
    end
    if options.verbose and t.trace and t.trace.traceback then
      out(indent((t.trace.traceback:gsub('^\n', ''))))
    end
  end

  handler.testEnd = function(element, parent, status)
    if status == 'success' then
      out('ok ' .. handler.successes[#handler.successes].name)
    elseif status == 'pending' then
      local t = handler.pendings[#handler.pendings]
      out('skip ' .. t.name)
      if type(t.message) == 'string' and t.message ~= '' and t.message ~= t.name then
        out(indent(t.message))
      end
    elseif status == 'failure' then
      show_failure(handler.failures[#handler.failures])
    elseif status == 'error' then
      show_failure(handler.errors[#handler.errors])
    end
    return nil, true
  end

  -- errors and failures outside an `it`: the base handler has counted them
  handler.blockError = function(element)
    if element.descriptor ~= 'it' then
      show_failure(handler.errors[#handler.errors])
    end
    return nil, true
  end

  handler.suiteEnd = function()
    local line = ('%d passed, %d failed'):format(handler.successesCount,
      handler.failuresCount + handler.errorsCount)
    if handler.pendingsCount > 0 then
      line = line .. (', %d skipped'):format(handler.pendingsCount)
    end
    out(line)
    return nil, true
  end

  busted.subscribe({ 'test', 'end' }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ 'error' }, handler.blockError)
  busted.subscribe({ 'failure' }, handler.blockError)
  busted.subscribe({ 'suite', 'end' }, handler.suiteEnd)

  return handler
end
