"""Daily sales totals: a two-factory pysetl project."""
