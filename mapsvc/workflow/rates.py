"""A rate as the centre's figures give it (mapsvc.workflow.stats, mapsvc.workflow.positions): a
fraction rounded to four places (0.9 is 90 %), or null with nothing to count."""


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
