"""Result files to a static HTML leaderboard."""
