--- What the specs that draw do with a picture: check it is XML, render it
-- to PNG (rsvg-convert, or headless Chromium) and read pixels back
-- (spec/support/png_check.c), and pick elements out of the SVG text.

local c = require "spec.support.c"
local compat = require "spec.support.compat"

local picture = {}

-- whether cmd succeeded, and what it printed (on every Lua: 5.1's popen
-- does not tell the exit status)
local sh = compat.run

local function write_tmp(text, suffix)
  local path = os.tmpname() .. suffix
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

--- Nil when svg is well-formed XML, else xmllint's complaint.
function picture.xml_error(svg)
  local path = write_tmp(svg, ".svg")
  local ok, out = sh("xmllint --noout " .. path)
  os.remove(path)
  if not ok then return out end
end

--- Whether a command is on PATH.
function picture.have(cmd)
  return (sh("command -v " .. cmd))
end

local checker
--- { width =, height =, nonwhite =, at = { ["x,y"] = { r, g, b } } } of a PNG file.
function picture.png(path, points)
  checker = checker or c.compile("spec/support/png_check.c", "-lz")
  local out = c.run(checker, path .. " " .. table.concat(points or {}, " "))
  local info = { at = {} }
  info.width, info.height = out:match("size (%d+) (%d+)")
  info.width, info.height = tonumber(info.width), tonumber(info.height)
  info.nonwhite = tonumber(out:match("nonwhite (%d+)"))
  for p, r, g, b in out:gmatch("at (%d+,%d+) (%d+) (%d+) (%d+)") do
    info.at[p] = { tonumber(r), tonumber(g), tonumber(b) }
  end
  return info
end

--- svg rendered by rsvg-convert, then read as picture.png reads it.
function picture.render(svg, points)
  local src = write_tmp(svg, ".svg")
  local png = os.tmpname() .. ".png"
  local ok, out = sh(("rsvg-convert %s -o %s"):format(src, png))
  os.remove(src)
  assert(ok, "rsvg-convert failed:\n" .. out)
  local info = picture.png(png, points)
  os.remove(png)
  return info
end

--- svg shown by headless Chromium at its own size, as a screenshot.
function picture.screenshot(svg, width, height, points)
  local src = write_tmp(svg, ".svg")
  local png = os.tmpname() .. ".png"
  local profile = os.tmpname()
  os.remove(profile)
  local ok, out = sh(("chromium --headless --no-sandbox --disable-gpu --disable-quic" ..
    " --no-first-run --disable-background-networking --disable-component-update" ..
    " --disable-sync --hide-scrollbars --user-data-dir=%s --window-size=%d,%d" ..
    " --screenshot=%s file://%s"):format(profile, width, height, png, src))
  os.remove(src)
  sh("rm -rf " .. profile)
  assert(ok, "chromium failed:\n" .. out)
  local info = picture.png(png, points)
  os.remove(png)
  return info
end

--- Every text element's content, in order.
function picture.texts(svg)
  local list = {}
  for t in svg:gmatch("<text[^>]*>(.-)</text>") do list[#list + 1] = t end
  return list
end

--- Whether svg has a text element whose content is exactly s.
function picture.has_text(svg, s)
  for _, t in ipairs(picture.texts(svg)) do
    if t == s then return true end
  end
  return false
end

--- The attributes of every element of this name, as tables.
function picture.elements(svg, name)
  local list = {}
  for attrs, rest in svg:gmatch("<" .. name .. "(%s[^>]-)(/?>)") do
    local e = {}
    for k, v in attrs:gmatch('([%w%-]+)="([^"]*)"') do e[k] = v end
    list[#list + 1] = e
  end
  return list
end

--- Width and height of an SVG document.
function picture.size(svg)
  local w, h = svg:match('<svg[^>]- width="([%d.]+)" height="([%d.]+)"')
  return tonumber(w), tonumber(h)
end

return picture
