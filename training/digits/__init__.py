"""Training the value-cell digit recogniser (models/digits.py) on crops of the factory's degraded scans."""
