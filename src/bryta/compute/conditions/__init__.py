"""Area conditions: the socioeconomic index and the five area types, transitions between
types."""
