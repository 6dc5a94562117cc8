-- LÖVE reads this before main.lua.  identity names the save directory
-- (~/.local/share/love/nn_agents on Linux), where the log store goes.
function love.conf(t)
  t.identity = "nn_agents"
  t.version = "11.4"
  t.window.title = "nn: 200 agents, one network"
  t.window.width = 800
  t.window.height = 600
  t.modules.audio = false   -- nothing to hear
  t.modules.sound = false
  t.modules.joystick = false
  t.modules.physics = false
end
