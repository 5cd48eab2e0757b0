"""How models are asked: backends, elicitation methods, runner, cache, result files."""
