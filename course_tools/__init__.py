"""The instructors' and CI's tools: the runner, CI preparation and checks, translation, the website."""
