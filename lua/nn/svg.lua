--- nn.svg: pictures of networks and of what they did, as SVG text.
--
--   local svg = nn.svg(net, { inputs = { "R", "G", "B", "volume" }, x = { 32, 107, 56, 11.2 } })
--   io.open("net.svg", "w"):write(svg)
--
-- What it draws, and nothing more: the layout of circles, lines and text.
-- Every number it shows comes from the network itself (get_weights, trace,
-- forward: the C core), so a picture never disagrees with what the network
-- computes.  It needs no library: the result is a Lua string.  Written for
-- every Lua from 5.1 on (no integer division, no goto, no utf8 library).

local svg = {}

-- the binding's guess at a misspelt option, so that nn.svg names it as every
-- function of nn does
local closest = require("nn.core")._closest

local format, concat, floor, abs, huge = string.format, table.concat, math.floor, math.abs,
  math.huge

local POSITIVE, NEGATIVE = "#2166ac", "#b2182b"   -- blue and red: a weight's sign
local WINNER = "#e08214"                          -- the output that wins

--- The picture of a 784-256-128-10 network stays below this many bytes:
-- wide layers show their first and last neurons, and lines are thinned.
svg.SIZE_CAP = 100 * 1024

--- Text safe inside an SVG element or attribute.
function svg.escape(s)
  return (tostring(s):gsub("[&<>\"']", {
    ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;",
  }))
end
local escape = svg.escape

--- A number as the pictures print it: four significant digits, no "-0".
function svg.number(v)
  if v ~= v then return "NaN" end
  if v == huge then return "inf" end
  if v == -huge then return "-inf" end
  local s = format("%.4g", v)
  if s == "-0" then s = "0" end
  return s
end
local number = svg.number

-- SVG coordinates: one decimal is more than a screen shows.
local function px(v)
  local s = format("%.1f", v)
  return (s:gsub("%.0$", ""))
end

-- A new document W x H on a white page, with its title (y: its baseline):
-- the list its parts are put into, and the function that puts them.
local function document(W, H, title, y)
  local out = {}
  local function put(...) out[#out + 1] = concat({ ... }) end
  put('<?xml version="1.0" encoding="UTF-8"?>\n')
  put('<svg xmlns="http://www.w3.org/2000/svg" width="', px(W), '" height="', px(H),
    '" viewBox="0 0 ', px(W), " ", px(H), '" font-family="sans-serif" font-size="12">\n')
  put('<rect width="100%" height="100%" fill="#ffffff"/>\n')
  if title then
    put('<text x="', px(W / 2), '" y="', y, '" text-anchor="middle" font-size="16">',
      escape(title), "</text>\n")
  end
  return out, put
end

local function err(fn, msg, level)
  error(fn .. ": " .. msg, (level or 1) + 1)
end

-- Checks an option table against the known names; raises naming the first
-- unknown one, and the known one it most likely meant.
local function check_options(fn, opts, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then err(fn, "options must be a table, got " .. type(opts), 3) end
  for k in pairs(opts) do
    if not known[k] then
      local names = {}
      for name in pairs(known) do names[#names + 1] = name end
      table.sort(names)
      local meant = type(k) == "string" and closest(k, names)
      err(fn, "unknown option '" .. tostring(k) .. "'"
        .. (meant and (" (did you mean '" .. meant .. "'?)") or ""), 3)
    end
  end
  return opts
end

local function check_names(fn, what, names, n)
  if names == nil then return nil end
  if type(names) ~= "table" then err(fn, what .. " must be a table of strings", 3) end
  if #names ~= n then
    err(fn, format("%s: %d given for %d %s", what, #names, n,
      what == "inputs" and "inputs" or "outputs"), 3)
  end
  for i = 1, n do
    if type(names[i]) ~= "string" and type(names[i]) ~= "number" then
      err(fn, format("%s[%d] is not a string", what, i), 3)
    end
  end
  return names
end

-- The shown rows of a column of n neurons, at most limit of them: all, or
-- the first and last halves with a gap between them.
local function shown(n, limit)
  local rows = {}
  if n <= limit then
    for i = 1, n do rows[#rows + 1] = i end
    return rows, nil
  end
  local head = floor((limit + 1) / 2)
  local tail = limit - head
  for i = 1, head do rows[#rows + 1] = i end
  local gap = { after = head, count = n - limit }
  for i = n - tail + 1, n do rows[#rows + 1] = i end
  return rows, gap
end

--- The columns of neurons a network draws as: its inputs, then one column
-- per module with a weight matrix (a rank-2 "weight" tensor, as net:modules()
-- gives: Linear's) with the modules without one that follow it.
-- Returns { { n = , linear = module index or nil, acts = { {index=, name=}, ... } }, ... }.
function svg.columns(net)
  local cols = { { n = net:n_inputs(), acts = {} } }
  for i, m in ipairs(net:modules()) do
    local matrix, bias = false, false
    for _, t in ipairs(m.params) do
      if t.name == "weight" and #t.shape == 2 then matrix = true end
      if t.name == "bias" then bias = true end
    end
    if matrix then
      cols[#cols + 1] = { n = m.n_out, linear = i, bias = bias, name = m.name, acts = {} }
    else
      local acts = cols[#cols].acts
      acts[#acts + 1] = { index = i, name = (m.name:gsub("^nn%.", "")) }
    end
  end
  return cols
end

-- Weight text along a line: where on the line, so that texts to different
-- targets do not sit on top of each other.
local function along(t, x1, y1, x2, y2)
  return x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
end

-- Raises unless net is a network with at least one Linear layer to draw.
local function check_network(fn, net)
  if net == nil or type(net) ~= "userdata" or tostring(net):find("^nn%.") == nil
      or not pcall(net.n_inputs, net) then
    err(fn, "a network expected, got " .. type(net), 3)
  end
  if net:n_inputs() == 0 then
    err(fn, "the network has no Linear layer: there are no neurons to draw", 3)
  end
end

-- The column limit and line limit of opts; raises on one out of range.
local function check_limits(fn, opts)
  local limit = opts.max_neurons or 12
  local max_lines = opts.max_lines
  if type(limit) ~= "number" or limit < 2 or limit ~= floor(limit) then
    err(fn, "max_neurons must be an integer of at least 2", 3)
  end
  if max_lines ~= nil and (type(max_lines) ~= "number" or max_lines < 0
      or max_lines ~= floor(max_lines)) then
    err(fn, "max_lines must be a non-negative integer", 3)
  end
  return limit, max_lines
end

-- The values of a trace of x, per column: pre (after the Linear) and post
-- (after the modules that follow it), and the winning output; nil without x.
-- Raises on an x that is not the network's input.
local function trace_values(fn, net, cols, x)
  if x == nil then return nil, nil end
  if type(x) ~= "table" then err(fn, "x must be a table of numbers", 3) end
  local ok, trace = pcall(net.trace, net, x)
  if not ok then err(fn, (tostring(trace):gsub("^.-%((.*)%)$", "%1")), 3) end
  local values = { { pre = x } }
  for c = 2, #cols do
    local col = cols[c]
    local last = col.acts[#col.acts]
    values[c] = { pre = trace[col.linear].values, post = last and trace[last.index].values }
  end
  local out = values[#cols].post or values[#cols].pre
  local winner = 1
  for i = 2, #out do if out[i] > out[winner] then winner = i end end
  return values, winner
end

-- Whether every weight is printed: as asked, else when there are at most 40.
local function weights_shown(cols, asked)
  if asked ~= nil then return asked end
  local total = 0
  for c = 2, #cols do total = total + cols[c].n * cols[c - 1].n end
  return total <= 40
end

-- Where everything goes: r (a neuron's radius), dy and dx (between rows and
-- columns), top, height (of the tallest column), rows and gaps (per column,
-- from shown), ypos(c, k) and xpos(c) (the centre of column c's k-th shown
-- row), W and H (the page).
local function layout(cols, limit, has_values, show_weights, has_title)
  local L = {
    r = has_values and 30 or 24,
    dy = has_values and 90 or 70,
    dx = show_weights and 300 or 230,
    left = 130,
    top = has_title and 70 or 40,
    rows = {}, gaps = {}, height = 0,
  }
  local rows, gaps, dy = L.rows, L.gaps, L.dy
  for c = 1, #cols do
    rows[c], gaps[c] = shown(cols[c].n, limit)
    local h = (#rows[c] - 1 + (gaps[c] and 1 or 0)) * dy
    if h > L.height then L.height = h end
  end
  function L.ypos(c, k)   -- k: position among the shown rows
    local count = #rows[c] + (gaps[c] and 1 or 0)
    local off = L.top + (L.height - (count - 1) * dy) / 2
    if gaps[c] and k > gaps[c].after then k = k + 1 end
    return off + (k - 1) * dy
  end
  function L.xpos(c) return L.left + (c - 1) * L.dx end
  L.W = L.left + (#cols - 1) * L.dx + 170
  L.H = L.top + L.height + 90
  return L
end

-- The weights W[j][i] from shown rows `from` to shown rows `to`, at most
-- `most` of them, the strongest first when some must go; and the largest |w|
-- among all of them, for thickness.
local function strongest(W, from, to, most)
  local biggest, cand = 0, {}
  for _, j in ipairs(to) do
    for _, i in ipairs(from) do
      local w = W[j][i]
      if abs(w) > biggest then biggest = abs(w) end
      cand[#cand + 1] = { j = j, i = i, w = w }
    end
  end
  if #cand > most then
    table.sort(cand, function(p, q)
      if abs(p.w) ~= abs(q.w) then return abs(p.w) > abs(q.w) end
      if p.j ~= q.j then return p.j < q.j end
      return p.i < q.i
    end)
    for k = #cand, most + 1, -1 do cand[k] = nil end
  end
  return cand, biggest
end

-- The position of each neuron among the shown rows of column c.
local function positions(rows)
  local pos = {}
  for k, i in ipairs(rows) do pos[i] = k end
  return pos
end

-- The lines into column c, from the weights chosen by strongest, and their
-- weights as text when show_weights.
local function draw_weights_into(put, L, c, cand, biggest, show_weights)
  local r, xpos, ypos = L.r, L.xpos, L.ypos
  local kpos, jpos = positions(L.rows[c - 1]), positions(L.rows[c])
  for _, e in ipairs(cand) do
    local x1, y1 = xpos(c - 1) + r, ypos(c - 1, kpos[e.i])
    local x2, y2 = xpos(c) - r, ypos(c, jpos[e.j])
    local width = biggest > 0 and 0.4 + 3.6 * abs(e.w) / biggest or 0.4
    put('<line x1="', px(x1), '" y1="', px(y1), '" x2="', px(x2), '" y2="', px(y2),
      '" stroke="', e.w < 0 and NEGATIVE or POSITIVE, '" stroke-width="', px(width * 10 / 10),
      '" stroke-opacity="0.75"><title>', escape(number(e.w)), "</title></line>\n")
  end
  if not show_weights then return end
  local n_to = #L.rows[c]
  for _, e in ipairs(cand) do
    local t = 0.22 + 0.5 * (jpos[e.j] - 1) / (n_to > 1 and n_to - 1 or 1)
    local x, y = along(t, xpos(c - 1) + r, ypos(c - 1, kpos[e.i]), xpos(c) - r,
      ypos(c, jpos[e.j]))
    put('<text x="', px(x), '" y="', px(y - 2), '" text-anchor="middle" font-size="10"',
      ' fill="', e.w < 0 and NEGATIVE or POSITIVE, '" stroke="#ffffff" stroke-width="3"',
      ' paint-order="stroke">', escape(number(e.w)), "</text>\n")
  end
end

-- Every column's incoming lines (drawn first, so that the circles cover their
-- ends); returns the biases, per column, for draw_neurons.
local function draw_weights(put, net, cols, L, max_lines, show_weights)
  local biases = {}
  put('<g id="weights" fill="none">\n')
  for c = 2, #cols do
    local W, b = net:get_weights(cols[c].linear, "weight"), {}
    if cols[c].bias then b = net:get_weights(cols[c].linear, "bias")
    else for j = 1, cols[c].n do b[j] = 0 end end
    -- between cut columns only the strongest lines, so that the picture stays
    -- readable and small
    local most = max_lines or ((L.gaps[c] or L.gaps[c - 1]) and 60 or 300)
    local cand, biggest = strongest(W, L.rows[c - 1], L.rows[c], most)
    draw_weights_into(put, L, c, cand, biggest, show_weights)
    biases[c] = b
  end
  put("</g>\n")
  return biases
end

-- Neuron i of column c, shown as row k: its circle, values, bias and name.
-- s: what draw_neurons was given.
local function draw_neuron(put, L, s, c, k, i)
  local x, y, r = L.xpos(c), L.ypos(c, k), L.r
  local win = s.winner and c == s.n_cols and i == s.winner
  put('<circle cx="', px(x), '" cy="', px(y), '" r="', r, '" fill="',
    win and "#fdb863" or "#f7f7f7", '" stroke="', win and WINNER or "#404040",
    '" stroke-width="', win and 3 or 1.2, '"', win and ' class="winner"' or "",
    "/>\n")
  if s.values then
    local v = s.values[c]
    put('<text x="', px(x), '" y="', px(y + (v.post and -2 or 4)),
      '" text-anchor="middle" font-size="11">', escape(number(v.pre[i])), "</text>\n")
    if v.post then
      put('<text x="', px(x), '" y="', px(y + 13), '" text-anchor="middle" font-size="9"',
        ' fill="#555555">', escape("→ " .. number(v.post[i])), "</text>\n")
    end
  end
  local bias = s.biases[c]
  if bias and s.show_weights then
    put('<text x="', px(x), '" y="', px(y + r + 13), '" text-anchor="middle"',
      ' font-size="10" fill="#555555">', escape("b " .. number(bias[i])), "</text>\n")
  end
  if c == 1 then
    put('<text x="', px(x - r - 8), '" y="', px(y + 4), '" text-anchor="end">',
      escape(s.inputs and s.inputs[i] or ("x" .. i)), "</text>\n")
  elseif c == s.n_cols then
    put('<text x="', px(x + r + 8), '" y="', px(y + 4), '" text-anchor="start"',
      win and ' font-weight="bold" fill="' .. WINNER .. '"' or "", ">",
      escape((s.labels and s.labels[i] or ("y" .. i)) .. (win and "  ◀" or "")), "</text>\n")
  end
end

-- Column c's count of the neurons it does not show, where they would be.
local function draw_gap(put, L, c)
  local gap = L.gaps[c]
  local y = L.ypos(c, gap.after) + L.dy
  put('<text x="', px(L.xpos(c)), '" y="', px(y + 4), '" text-anchor="middle" font-size="11"',
    ' fill="#555555" class="gap">', escape(format("⋮ %d more", gap.count)),
    "</text>\n")
end

-- The column's caption: its size and what follows the Linear.
local function draw_caption(put, L, c, col)
  local caption = c == 1 and format("%d inputs", col.n) or format("%d", col.n)
  if c > 1 then
    local acts = {}
    for _, a in ipairs(col.acts) do acts[#acts + 1] = a.name end
    caption = caption .. (#acts > 0 and ", " .. concat(acts, ", ") or ", linear")
  end
  put('<text x="', px(L.xpos(c)), '" y="', px(L.top + L.height + 48), '" text-anchor="middle"',
    ' fill="#333333">', escape(caption), "</text>\n")
end

-- Every column's neurons, gap and caption.  s: { n_cols, values, winner,
-- biases, show_weights, inputs, labels }.
local function draw_neurons(put, cols, L, s)
  put('<g id="neurons">\n')
  for c = 1, #cols do
    for k, i in ipairs(L.rows[c]) do draw_neuron(put, L, s, c, k, i) end
    if L.gaps[c] then draw_gap(put, L, c) end
    draw_caption(put, L, c, cols[c])
  end
  put("</g>\n")
end

-- The line at the foot of the page that says how to read the picture.
local function draw_key(put, L, has_values)
  put('<text x="12" y="', px(L.H - 12), '" font-size="10" fill="#555555">',
    escape("lines: blue positive, red negative weight; thicker = larger |w|" ..
      (has_values and "; in a neuron: its value, → after its activation" or "")), "</text>\n")
end

-- --- convolutional networks --------------------------------------------

-- Whether the net holds images: a module whose output has channels (a shape
-- of rank 2 or 3, as net:modules() gives it).
local function has_images(mods)
  for _, m in ipairs(mods) do
    if m.shape and #m.shape >= 2 then return true end
  end
  return false
end

-- --- graphs ---------------------------------------------------------------
-- A network whose modules read more than the module before them (nn.Residual,
-- nn.Concat, nn.Graph) is drawn as its modules, not its neurons: a box per
-- module, top to bottom, each at the depth of its longest path from the
-- input; a branch beside the main line (a Concat's side by side); a line from
-- each value to each module that reads it, a skip arc past the modules
-- between for a value read further down (a Residual's x).

--- Whether any module of net reads another value than the one before it.
function svg.is_graph(modules)
  for i, m in ipairs(modules) do
    if #m.inputs ~= 1 or m.inputs[1] ~= i - 1 then return true end
  end
  return false
end

-- The stages a convolutional network draws as: the input, then one per
-- module that changes the shape (a convolution, a pool, a Linear, ...),
-- with the element-wise modules after it in its caption.
local function conv_stages(net, mods)
  local first = mods[1]
  local stages = { { shape = first and first.kind == "Input" and first.shape
    or { net:n_inputs() }, name = "input", acts = {} } }
  for i, m in ipairs(mods) do
    local before, shape = stages[#stages].shape, m.shape or { m.n_out }
    local same = #shape == #before
    for r = 1, same and #before or 0 do same = same and shape[r] == before[r] end
    if m.kind == "Input" or (same and m.n_params == 0 and m.n_in == m.n_out) then
      if m.kind ~= "Input" then
        local acts = stages[#stages].acts
        acts[#acts + 1] = (m.name:gsub("^nn%.", ""))
      end
    else
      stages[#stages + 1] = { shape = shape, name = m.kind, index = i, acts = {} }
    end
  end
  return stages
end

-- "6 @ 28x28", "16 @ 10", "120"
local function shape_text(shape)
  if #shape == 3 then return format("%d @ %dx%d", shape[1], shape[2], shape[3]) end
  if #shape == 2 then return format("%d @ %d", shape[1], shape[2]) end
  return format("%d", shape[1])
end

-- A stage of images: up to 8 maps drawn as a stack of squares (their size
-- grows with the map's side), with the count of channels; a flat stage: one
-- bar as tall as its width allows.
local function draw_stage(put, st, x, mid, largest)
  local shape = st.shape
  if #shape >= 2 then
    local h = #shape == 3 and shape[2] or 1
    local w = #shape == 3 and shape[3] or shape[2]
    local scale = 90 / largest
    local side_w, side_h = math.max(w * scale, 6), math.max(h * scale, 6)
    local n = math.min(shape[1], 8)
    for k = n, 1, -1 do
      local off = (k - 1) * 6
      put('<rect x="', px(x + off - side_w / 2), '" y="', px(mid - side_h / 2 - off),
        '" width="', px(side_w), '" height="', px(side_h), '" fill="',
        k == 1 and "#d1e5f0" or "#f7f7f7", '" stroke="#404040" stroke-width="1"/>\n')
    end
    if shape[1] > 8 then
      put('<text x="', px(x + 7 * 6 + side_w / 2 + 4), '" y="', px(mid - side_h / 2 - 42),
        '" font-size="10" fill="#555555">', escape(format("… %d maps", shape[1])), "</text>\n")
    end
  else
    local hgt = math.min(40 + shape[1] / 4, 180)
    put('<rect x="', px(x - 9), '" y="', px(mid - hgt / 2), '" width="18" height="', px(hgt),
      '" rx="9" fill="#f7f7f7" stroke="#404040" stroke-width="1.2"/>\n')
  end
end

local function draw_stage_caption(put, st, x, y)
  put('<text x="', px(x), '" y="', px(y), '" text-anchor="middle" fill="#333333">',
    escape(shape_text(st.shape)), "</text>\n")
  local what = st.name .. (#st.acts > 0 and ", " .. concat(st.acts, ", ") or "")
  put('<text x="', px(x), '" y="', px(y + 16), '" text-anchor="middle" font-size="10"',
    ' fill="#555555">', escape(what), "</text>\n")
end

-- The picture of a network of images: its stages left to right, each
-- convolutional or pooled one as its feature maps (how many, how large),
-- never one circle per value.
local function conv_picture(net, mods, opts)
  local stages = conv_stages(net, mods)
  local dx, top, largest = 190, opts.title and 70 or 40, 1
  for _, st in ipairs(stages) do
    for r = 2, #st.shape do largest = math.max(largest, st.shape[r]) end
  end
  local W, H = 80 + #stages * dx, top + 300
  local mid = top + 120
  local out, put = document(W, H, opts.title, 28)
  put('<g id="stages">\n')
  for k, st in ipairs(stages) do
    local x = 80 + (k - 1) * dx
    if k > 1 then
      put('<line x1="', px(x - dx + 105), '" y1="', px(mid), '" x2="', px(x - 58), '" y2="',
        px(mid), '" stroke="#888888" stroke-width="1.5" marker-end="url(#arrow)"/>\n')
    end
    draw_stage(put, st, x, mid, largest)
    draw_stage_caption(put, st, x, top + 250)
  end
  put("</g>\n")
  put('<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4"',
    ' orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#888888"/></marker></defs>\n')
  put("</svg>\n")
  return concat(out)
end

-- Each module's depth and lane: depth 1 + the deepest it reads (the input is
-- 0); lane its first input's when that lane is free at its depth, else the
-- first free one.
local function graph_places(modules)
  local depth, lane, taken = { [0] = 0 }, { [0] = 1 }, {}
  for i, m in ipairs(modules) do
    local d = 0
    for _, v in ipairs(m.inputs) do if depth[v] >= d then d = depth[v] + 1 end end
    taken[d] = taken[d] or {}
    local l = lane[m.inputs[1]]
    while taken[d][l] do l = l + 1 end
    taken[d][l] = true
    depth[i], lane[i] = d, l
  end
  return depth, lane
end

-- Module m's text in its box: "+" for an Add, "concat" for a Concat.
local function box_text(m)
  if m.kind == "Add" then return "+ (" .. m.n_out .. ")" end
  if m.kind == "Concat" then return "concat (" .. m.n_out .. ")" end
  return (m.name:gsub("^nn%.", ""))
end

-- The line from box a to box b (centres and half-heights at P): straight
-- down between neighbours, a curve into another lane, an arc to the right of
-- the boxes past the ones between (class "skip").
local function graph_edge(put, P, a, b)
  local x1, y1, x2, y2 = P.x(a), P.y(a) + P.h / 2, P.x(b), P.y(b) - P.h / 2
  if P.lane[a] == P.lane[b] and P.depth[b] - P.depth[a] > 1 then
    local xr = x1 + P.w / 2 + 16 + 10 * (P.depth[b] - P.depth[a])   -- longer, wider
    put('<path class="skip" d="M', px(x1 + P.w / 2), " ", px(P.y(a)), " C", px(xr), " ",
      px(P.y(a)), " ", px(xr), " ", px(P.y(b)), " ", px(x2 + P.w / 2), " ", px(P.y(b)),
      '" stroke="#2166ac" stroke-width="1.6" fill="none" marker-end="url(#arrow)"/>\n')
    return
  end
  local my = (y1 + y2) / 2
  put('<path class="edge" d="M', px(x1), " ", px(y1), " C", px(x1), " ", px(my), " ", px(x2),
    " ", px(my), " ", px(x2), " ", px(y2), '" stroke="#404040" stroke-width="1.2"',
    ' fill="none" marker-end="url(#arrow)"/>\n')
end

-- The box of module i (0: the input) at P.
local function graph_box(put, P, i, text, join)
  local x, y = P.x(i), P.y(i)
  put('<rect class="', join and "join" or "module", '" x="', px(x - P.w / 2), '" y="',
    px(y - P.h / 2), '" width="', P.w, '" height="', P.h, '" rx="6" fill="',
    join and "#fdb863" or "#f7f7f7", '" stroke="#404040"/>\n')
  put('<text x="', px(x), '" y="', px(y + 4), '" text-anchor="middle">', escape(text),
    "</text>\n")
end

-- The picture of a graph network (see above).  opts: title.
local function graph_network(net, modules, opts)
  local depth, lane = graph_places(modules)
  local deepest, lanes = 0, 1
  for i = 1, #modules do
    if depth[i] > deepest then deepest = depth[i] end
    if lane[i] > lanes then lanes = lane[i] end
  end
  local P = { w = 190, h = 32, dy = 64, dx = 250, top = opts.title and 60 or 30,
    depth = depth, lane = lane }
  function P.x(i) return 40 + P.w / 2 + (lane[i] - 1) * P.dx end
  function P.y(i) return P.top + P.h / 2 + depth[i] * P.dy end
  local W = 80 + P.w + (lanes - 1) * P.dx + 60
  local H = P.top + (deepest + 1) * P.dy + 50
  local out, put = document(W, H, opts.title, 28)
  put('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"',
    ' markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#404040"/></marker>',
    "</defs>\n")
  put('<g id="edges">\n')
  for i, m in ipairs(modules) do
    for _, v in ipairs(m.inputs) do graph_edge(put, P, v, i) end
  end
  put("</g>\n<g id=\"modules\">\n")
  graph_box(put, P, 0, format("input (%d)", net:n_inputs()))
  for i, m in ipairs(modules) do
    graph_box(put, P, i, box_text(m), m.kind == "Add" or m.kind == "Concat")
  end
  local last = #modules
  put('<text x="', px(P.x(last)), '" y="', px(P.y(last) + P.h / 2 + 18), '" text-anchor="middle"',
    ' fill="#333333">', escape(format("output (%d)", net:n_outputs())), "</text>\n")
  put("</g>\n</svg>\n")
  return concat(out)
end

--- nn.svg(net [, opts]) --> an SVG document (a string).
-- opts: inputs (names of the inputs), labels (names of the outputs; the
-- network's own labels by default), x (an input: every neuron then shows its
-- value, the winning output is marked), title, max_neurons (a column wider
-- than this shows its first and last neurons and the count of the others;
-- default 12), max_lines (lines drawn between two columns, the strongest
-- first; default 300), weights (true/false: every weight as text; default:
-- when the network has at most 40 weights).
-- A network of images (nn.Input, Conv2d, ...) is drawn as its stages,
-- each convolution or pool as its feature maps: their count and size.
-- A graph (nn.Residual, nn.Concat, nn.Graph) is drawn as its modules and
-- what each reads, which takes title only.
-- Raises on bad options and on a network with no Linear layer.
function svg.network(net, opts)
  local fn = "nn.svg"
  opts = check_options(fn, opts, { inputs = true, labels = true, x = true, title = true,
    max_neurons = true, max_lines = true, weights = true })
  check_network(fn, net)
  local mods = net:modules()
  if has_images(mods) then return conv_picture(net, mods, opts) end
  if svg.is_graph(mods) then return graph_network(net, mods, opts) end
  local cols = svg.columns(net)
  local limit, max_lines = check_limits(fn, opts)
  local inputs = check_names(fn, "inputs", opts.inputs, cols[1].n)
  local labels = check_names(fn, "labels", opts.labels or net:labels(), cols[#cols].n)
  local values, winner = trace_values(fn, net, cols, opts.x)
  local show_weights = weights_shown(cols, opts.weights)
  local L = layout(cols, limit, values ~= nil, show_weights, opts.title ~= nil)
  local out, put = document(L.W, L.H, opts.title, 28)
  local biases = draw_weights(put, net, cols, L, max_lines, show_weights)
  draw_neurons(put, cols, L, { n_cols = #cols, values = values, winner = winner,
    biases = biases, show_weights = show_weights, inputs = inputs, labels = labels })
  draw_key(put, L, values ~= nil)
  put("</svg>\n")
  return concat(out)
end

-- --- charts -------------------------------------------------------------

-- Round numbers for an axis from lo to hi: about n ticks.
local function ticks(lo, hi, n)
  if hi <= lo then hi = lo + 1 end
  local raw = (hi - lo) / n
  local mag = 10 ^ floor(math.log10 and math.log10(raw) or math.log(raw, 10))
  local step = mag
  for _, m in ipairs{ 1, 2, 5, 10 } do
    if raw <= m * mag then step = m * mag break end
  end
  local first = floor(lo / step + 1e-9) * step
  local list = {}
  local v = first
  while v <= hi + step * 1e-9 do
    list[#list + 1] = v
    v = v + step
  end
  if list[#list] < hi - step * 1e-9 then list[#list + 1] = list[#list] + step end
  return list, step
end
svg.ticks = ticks

local function finite(v) return type(v) == "number" and v == v and v > -huge and v < huge end

-- The range of a run's finite losses (lo > hi when there is none), whether it
-- has a validation accuracy, and the losses that are not finite, named.
local function loss_range(epochs)
  local lo, hi, has_acc, missing = huge, -huge, false, {}
  for i, e in ipairs(epochs) do
    for _, key in ipairs{ "loss", "val_loss" } do
      local v = e[key]
      if finite(v) then
        if v < lo then lo = v end
        if v > hi then hi = v end
      elseif v ~= nil then
        missing[#missing + 1] = format("epoch %s: %s is not finite", tostring(e.epoch or i), key)
      end
    end
    if finite(e.val_accuracy) then has_acc = true end
  end
  return lo, hi, has_acc, missing
end

-- A panel at (x0, y0), w x h, over n epochs and losses lo to hi, with its
-- scales to coordinates: X(epoch), Y(loss), A(accuracy in %).
local function panel(x0, y0, w, h, n, lo, hi)
  local P = { x0 = x0, y0 = y0, w = w, h = h, n = n }
  function P.X(i) return x0 + (n > 1 and (i - 1) / (n - 1) or 0.5) * w end
  function P.Y(v) return y0 + h - (v - lo) / (hi - lo) * h end
  function P.A(v) return y0 + h - v / 100 * h end
  return P
end

-- The epoch axis below the panel: whole epochs only.
local function draw_epoch_axis(put, P)
  local X, n, x0, y0, w, h = P.X, P.n, P.x0, P.y0, P.w, P.h
  local xt = ticks(1, math.max(n, 2), math.min(n, 8))
  for _, e in ipairs(xt) do
    if e >= 1 and e <= n and e == floor(e) then
      put('<line x1="', px(X(e)), '" y1="', px(y0 + h), '" x2="', px(X(e)), '" y2="',
        px(y0 + h + 5), '" stroke="#404040"/><text x="', px(X(e)), '" y="', px(y0 + h + 18),
        '" text-anchor="middle" font-size="10">', format("%d", e), "</text>\n")
    end
  end
  put('<text x="', px(x0 + w / 2), '" y="', px(y0 + h + 34), '" text-anchor="middle">epoch</text>\n')
end

-- The loss axis on the left, at the ticks yt, each a grid line across the panel.
local function draw_loss_axis(put, P, yt)
  local Y, x0, y0, w, h = P.Y, P.x0, P.y0, P.w, P.h
  for _, v in ipairs(yt) do
    put('<line x1="', px(x0 - 5), '" y1="', px(Y(v)), '" x2="', px(x0 + w), '" y2="', px(Y(v)),
      '" stroke="#dddddd"/><text x="', px(x0 - 8), '" y="', px(Y(v) + 4),
      '" text-anchor="end" font-size="10">', escape(number(v)), "</text>\n")
  end
  put('<text transform="translate(', px(x0 - 48), ",", px(y0 + h / 2),
    ') rotate(-90)" text-anchor="middle">loss</text>\n')
end

-- The validation accuracy axis on the right, 0 to 100 %.
local function draw_accuracy_axis(put, P)
  local A, x0, y0, w, h = P.A, P.x0, P.y0, P.w, P.h
  for v = 0, 100, 25 do
    put('<line x1="', px(x0 + w), '" y1="', px(A(v)), '" x2="', px(x0 + w + 5), '" y2="',
      px(A(v)), '" stroke="#404040"/><text x="', px(x0 + w + 8), '" y="', px(A(v) + 4),
      '" font-size="10">', format("%d", v), "</text>\n")
  end
  put('<text transform="translate(', px(x0 + w + 44), ",", px(y0 + h / 2),
    ') rotate(90)" text-anchor="middle">validation accuracy, %</text>\n')
end

-- The finite values of key over the epochs as a line with a dot on each;
-- scale: the values are fractions, drawn in % on the accuracy axis.
local function draw_curve(put, P, epochs, key, colour, dash, scale)
  local pts = {}
  for i, e in ipairs(epochs) do
    local v = e[key]
    if finite(v) then
      pts[#pts + 1] = px(P.X(i)) .. "," .. px(scale and P.A(v * 100) or P.Y(v))
    end
  end
  if #pts == 0 then return end
  put('<polyline class="', key, '" points="', concat(pts, " "), '" fill="none" stroke="',
    colour, '" stroke-width="2"', dash and ' stroke-dasharray="6 4"' or "", "/>\n")
  for _, p in ipairs(pts) do
    local x, y = p:match("([^,]+),(.+)")
    put('<circle cx="', x, '" cy="', y, '" r="2.5" fill="', colour, '"/>\n')
  end
end

-- The best epoch b, when it is one of the panel's, as a dotted line.
local function draw_best(put, P, b)
  if type(b) ~= "number" or b < 1 or b > P.n then return end
  local X, y0, h = P.X, P.y0, P.h
  put('<line x1="', px(X(b)), '" y1="', px(y0), '" x2="', px(X(b)), '" y2="', px(y0 + h),
    '" stroke="', WINNER, '" stroke-dasharray="2 3"/><text x="', px(X(b) + 4),
    '" y="', px(y0 + 12), '" font-size="10" fill="', WINNER, '">best</text>\n')
end

-- The first three losses that are not finite, named in the panel's corner.
local function draw_missing(put, P, missing)
  for k, m in ipairs(missing) do
    if k > 3 then break end
    put('<text x="', px(P.x0 + 6), '" y="', px(P.y0 + 14 * k), '" font-size="10" fill="',
      NEGATIVE, '" class="missing">', escape(m), "</text>\n")
  end
end

-- One run's panel at (x0, y0), w x h_: loss and validation loss on the left
-- axis, validation accuracy (%) on the right one.
local function history_panel(put, h, title, x0, y0, w, h_)
  local epochs = h.epochs
  local lo, hi, has_acc, missing = loss_range(epochs)
  put('<g class="panel">\n')
  put('<text x="', px(x0 + w / 2), '" y="', px(y0 - 14), '" text-anchor="middle"',
    ' font-size="14">', escape(title), "</text>\n")
  put('<rect x="', px(x0), '" y="', px(y0), '" width="', px(w), '" height="', px(h_),
    '" fill="none" stroke="#404040"/>\n')
  if lo > hi then
    put('<text x="', px(x0 + w / 2), '" y="', px(y0 + h_ / 2), '" text-anchor="middle"',
      ' class="missing">', escape(h.empty or "no finite loss to draw"), '</text>\n</g>\n')
    return
  end
  if lo > 0 and lo < hi * 0.5 then lo = 0 end
  local yt = ticks(lo, hi, 5)
  local P = panel(x0, y0, w, h_, #epochs, yt[1], yt[#yt])
  draw_epoch_axis(put, P)
  draw_loss_axis(put, P, yt)
  if has_acc then draw_accuracy_axis(put, P) end
  draw_curve(put, P, epochs, "loss", POSITIVE)
  draw_curve(put, P, epochs, "val_loss", NEGATIVE, true)
  if has_acc then draw_curve(put, P, epochs, "val_accuracy", "#1b7837", false, true) end
  draw_best(put, P, h.best_epoch)
  draw_missing(put, P, missing)
  put("</g>\n")
end

local function check_history(fn, h, what)
  if type(h) ~= "table" or type(h.epochs) ~= "table" then
    err(fn, what .. " is not a training history (a table with epochs)", 3)
  end
  for i, e in ipairs(h.epochs) do
    if type(e) ~= "table" then err(fn, format("%s: epochs[%d] is not a table", what, i), 3) end
    for _, key in ipairs{ "loss", "val_loss", "val_accuracy" } do
      if e[key] ~= nil and type(e[key]) ~= "number" then
        err(fn, format("%s: epochs[%d].%s is not a number", what, i, key), 3)
      end
    end
  end
end

--- nn.svg_history(history [, opts]) --> an SVG document.
-- history: what tr:fit returned, or an array of them (each may carry a
-- `title`), drawn side by side.  opts: title.
-- Raises on what is not a history.
function svg.history(history, opts)
  local fn = "nn.svg_history"
  opts = check_options(fn, opts, { title = true })
  local runs = {}
  if type(history) == "table" and history.epochs == nil and #history > 0 then
    for i, h in ipairs(history) do
      check_history(fn, h, format("history[%d]", i))
      runs[i] = h
    end
  else
    check_history(fn, history, "history")
    runs[1] = history
  end
  local pw, ph, gap = 360, 220, 120
  local top = opts.title and 80 or 50
  local W = 80 + #runs * pw + (#runs - 1) * gap + 90
  local H = top + ph + 90
  local out, put = document(W, H, opts.title, 26)
  for i, h in ipairs(runs) do
    local title = h.title or (#runs > 1 and format("run %d", i) or "training")
    history_panel(put, h, title, 80 + (i - 1) * (pw + gap), top, pw, ph)
  end
  -- legend
  local lx, ly = 80, H - 22
  for _, item in ipairs{ { "loss", POSITIVE, "" }, { "validation loss", NEGATIVE, ' stroke-dasharray="6 4"' },
                         { "validation accuracy", "#1b7837", "" } } do
    put('<line x1="', px(lx), '" y1="', px(ly), '" x2="', px(lx + 24), '" y2="', px(ly),
      '" stroke="', item[2], '" stroke-width="2"', item[3], '/><text x="', px(lx + 30),
      '" y="', px(ly + 4), '">', item[1], "</text>\n")
    lx = lx + 60 + 8 * #item[1]
  end
  put("</svg>\n")
  return concat(out)
end

--- The confusion matrix: counts[t][p] predictions of true class t answered
-- p, over n classes named by labels.  opts: title.
function svg.confusion(counts, labels, opts)
  opts = opts or {}
  local n = #labels
  local cell = n <= 10 and 56 or math.max(18, floor(560 / n))
  local left, top = 140, (opts.title and 90 or 60) + 40
  local W = math.max(left + n * cell + 60, 40 + 9 * #(opts.title or ""))
  local H = top + n * cell + 70
  local out, put = document(W, H, opts.title, 28)
  local total, right = 0, 0
  for t = 1, n do
    for p = 1, n do
      local c = counts[t] and counts[t][p] or 0
      total = total + c
      if t == p then right = right + c end
    end
  end
  if total == 0 then
    put('<text x="', px(W / 2), '" y="', px(top + n * cell / 2), '" text-anchor="middle"',
      ' class="missing">', escape(opts.empty or "no predictions with feedback"), "</text>\n")
  else
    put('<text x="', px(W / 2), '" y="', px(top - 50), '" text-anchor="middle">',
      escape(format("%d of %d right (%.1f%%)", right, total, 100 * right / total)), "</text>\n")
  end
  put('<text x="', px(left + n * cell / 2), '" y="', px(top - 26),
    '" text-anchor="middle">predicted</text>\n')
  put('<text transform="translate(', px(24), ",", px(top + n * cell / 2),
    ') rotate(-90)" text-anchor="middle">true</text>\n')
  for t = 1, n do
    local row = 0
    for p = 1, n do row = row + (counts[t] and counts[t][p] or 0) end
    put('<text x="', px(left - 8), '" y="', px(top + (t - 0.5) * cell + 4),
      '" text-anchor="end">', escape(labels[t]), "</text>\n")
    for p = 1, n do
      local c = counts[t] and counts[t][p] or 0
      local share = row > 0 and c / row or 0
      local shade = floor(255 - 180 * share + 0.5)
      local fill = t == p and format("#%02x%02xff", shade, shade)
        or format("#ff%02x%02x", shade, shade)
      if c == 0 then fill = "#ffffff" end
      local x, y = left + (p - 1) * cell, top + (t - 1) * cell
      put('<rect x="', px(x), '" y="', px(y), '" width="', px(cell), '" height="', px(cell),
        '" fill="', fill, '" stroke="#404040"/>')
      put('<text x="', px(x + cell / 2), '" y="', px(y + cell / 2 + 4), '" text-anchor="middle"',
        ' class="count">', format("%d", c), "</text>\n")
    end
  end
  for p = 1, n do
    put('<text x="', px(left + (p - 0.5) * cell), '" y="', px(top - 8),
      '" text-anchor="middle">', escape(labels[p]), "</text>\n")
  end
  put("</svg>\n")
  return concat(out)
end

-- --- pictures of what a store holds -------------------------------------

-- The version row of model name (the latest when version is nil).  Raises
-- naming the model or version that is not there.
local function find_version(fn, store, name, version)
  if type(name) ~= "string" or name == "" then err(fn, "name must be a non-empty string", 3) end
  if version ~= nil and (type(version) ~= "number" or version < 1 or version ~= floor(version)) then
    err(fn, "version must be a positive integer", 3)
  end
  local found = false
  for _ in store:rows("SELECT 1 FROM nn_model WHERE name = ?", name) do found = true end
  if not found then err(fn, format("no model named '%s'", name), 3) end
  local sql = "SELECT v.version_id, v.version, v.n_outputs FROM nn_version AS v" ..
    " JOIN nn_model AS m ON m.model_id = v.model_id WHERE m.name = ?" ..
    (version and " AND v.version = ?" or " ORDER BY v.version DESC LIMIT 1")
  local args = version and { name, version } or { name }
  for row in store:rows(sql, (unpack or table.unpack)(args)) do return row end
  err(fn, format("model '%s' has no version %s", name, tostring(version)), 3)
end

--- store:svg_confusion(name [, version [, labelmap]]) --> an SVG document:
-- the confusion matrix of a version (the latest by default) from the
-- feedback its predictions got (the latest answer per prediction), its
-- classes named by the label map (default: "default", else 1, 2, ...).
-- Raises on an unknown model, version or label map.
function svg.store_confusion(store, name, version, labelmap)
  local fn = "svg_confusion"
  local v = find_version(fn, store, name, version)
  if labelmap ~= nil and (type(labelmap) ~= "string" or labelmap == "") then
    err(fn, "labelmap must be a non-empty string", 2)
  end
  local labels = {}
  for row in store:rows([[
      SELECT e.value AS label FROM nn_labelmap AS l, json_each(l.labels) AS e
      WHERE l.labelmap_id = (SELECT l2.labelmap_id FROM nn_labelmap AS l2
                             JOIN nn_model AS m ON m.model_id = l2.model_id
                             WHERE m.name = ? AND l2.name = ?
                             ORDER BY l2.labelmap_id DESC LIMIT 1)
      ORDER BY e.key]], name, labelmap or "default") do
    labels[#labels + 1] = tostring(row.label)
  end
  if labelmap and #labels == 0 then
    err(fn, format("model '%s' has no label map '%s'", name, labelmap), 2)
  end
  if #labels ~= v.n_outputs then
    if labelmap then
      err(fn, format("label map '%s' has %d labels, model '%s' version %d has %d outputs",
        labelmap, #labels, name, v.version, v.n_outputs), 2)
    end
    labels = {}
    for i = 1, v.n_outputs do labels[i] = tostring(i) end
  end
  local counts = {}
  for i = 1, v.n_outputs do counts[i] = {} end
  for row in store:rows([[
      WITH truth AS (
        SELECT f.prediction_id, f.true_idx FROM nn_feedback AS f
        WHERE f.feedback_id = (SELECT max(g.feedback_id) FROM nn_feedback AS g
                               WHERE g.prediction_id = f.prediction_id))
      SELECT t.true_idx AS t, p.pred_idx AS p, count(*) AS n
      FROM truth AS t JOIN nn_prediction AS p ON p.prediction_id = t.prediction_id
      WHERE p.version_id = ? GROUP BY 1, 2]], v.version_id) do
    if counts[row.t] and row.p <= v.n_outputs then counts[row.t][row.p] = row.n end
  end
  return svg.confusion(counts, labels, {
    title = format("%s v%d: predictions against feedback", name, v.version),
    empty = format("no feedback yet for %s v%d", name, v.version),
  })
end

--- store:svg_history(name [, version]) --> an SVG document: the training
-- run kept with a version (store:history, digest checked), drawn as
-- nn.svg_history draws tr:fit's history.  version: a number, a table of numbers (drawn
-- side by side), "all" (every version), or nil: the latest version that
-- has a run.  A version without a run is a panel that says so.
-- Raises on an unknown model or version, and on a run changed outside nn.
function svg.store_history(store, name, version)
  local fn = "svg_history"
  if type(name) ~= "string" or name == "" then err(fn, "name must be a non-empty string", 2) end
  local wanted
  if type(version) == "table" then
    wanted = version
    if #wanted == 0 then err(fn, "version: an empty table", 2) end
  elseif version == "all" then
    wanted = "all"
  elseif version ~= nil then
    wanted = { version }
  end
  local found = false
  for _ in store:rows("SELECT 1 FROM nn_model WHERE name = ?", name) do found = true end
  if not found then err(fn, format("no model named '%s'", name), 2) end
  local versions = {}
  if wanted == nil then
    for row in store:rows([[
        SELECT v.version FROM nn_version AS v JOIN nn_model AS m ON m.model_id = v.model_id
        JOIN nn_training AS t ON t.version_id = v.version_id
        WHERE m.name = ? ORDER BY v.version DESC LIMIT 1]], name) do
      versions[1] = row.version
    end
    if #versions == 0 then
      for row in store:rows([[
          SELECT max(v.version) AS version FROM nn_version AS v
          JOIN nn_model AS m ON m.model_id = v.model_id WHERE m.name = ?]], name) do
        versions[1] = row.version
      end
    end
  elseif wanted == "all" then
    for row in store:rows([[
        SELECT v.version FROM nn_version AS v JOIN nn_model AS m ON m.model_id = v.model_id
        WHERE m.name = ? ORDER BY v.version]], name) do
      versions[#versions + 1] = row.version
    end
  else
    versions = wanted
  end
  local runs = {}
  for i, v in ipairs(versions) do
    local row = find_version(fn, store, name, v)
    -- through store:history, which checks the run against its digest
    local run = store:history(name, row.version)
    local h = { epochs = run and run.epochs or {}, best_epoch = run and run.best_epoch,
      title = run and format("%s v%d: %d rows, stopped by %s", name, row.version, run.rows,
                             run.stopped) or format("%s v%d", name, row.version),
      empty = format("%s v%d has no training run", name, row.version) }
    runs[i] = h
  end
  return svg.history(runs, { title = #runs > 1 and format("%s: training runs", name) or nil })
end

return svg
