"""coprod: is a board's decision-making co-produced with the people who use services?"""

__version__ = "0.1.0"
