"""1E Platform / Tachyon Consumer API: client, simulator and the demo wiring."""
