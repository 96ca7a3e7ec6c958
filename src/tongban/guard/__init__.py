"""The security brain (政务安全大脑): signals, detection, response and the console (issue #20)."""
