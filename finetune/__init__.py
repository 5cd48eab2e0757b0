"""SFT and distribution-matching checkpoints to compare against their base models."""
