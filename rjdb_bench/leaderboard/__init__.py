"""The published leaderboard: entries built from verified run directories (never task code)."""
