"""Generated tasks: proposals by a model, validated, filtered for diversity (issue #33)."""
