"""The 一标三实 base: standard addresses and the people, houses and organisations on them,
plus components (部件) and key places."""
