"""The service assistant (政务服务机器人): answers colloquial questions (issue #19)."""
