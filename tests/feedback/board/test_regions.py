"""The location normaliser on real profile locations of ../shared/data/airline_mentions.csv."""

import csv
from collections import Counter
from pathlib import Path

import pytest

from feedback.board.regions import US_STATES, normalise_location, region_name

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "airline_mentions.csv"

# Real `location` values from airline_mentions.csv (as written there) and the region a person reads in them.
REAL = [
    ("New York, NY", "US-NY"), ("NYC", "US-NY"), ("New York City", "US-NY"), ("new york city", "US-NY"),
    ("Brooklyn, NY", "US-NY"), ("BK", "US-NY"), ("Boston, MA", "US-MA"), ("Washington, DC", "US-DC"),
    ("Washington, D.C.", "US-DC"), ("Washington DC", "US-DC"), ("DC", "US-DC"), ("Austin, TX", "US-TX"),
    ("Houston", "US-TX"), ("Houston, TX", "US-TX"), ("Dallas, Texas", "US-TX"), ("Texas", "US-TX"),
    ("McKinney TX", "US-TX"), ("Chicago", "US-IL"), ("Chicago, IL", "US-IL"), ("Los Angeles, CA", "US-CA"),
    ("San Francisco", "US-CA"), ("San Francisco Bay Area", "US-CA"), ("Nashville, TN", "US-TN"),
    ("Las Vegas, NV", "US-NV"), ("Denver, CO", "US-CO"), ("Philadelphia, PA", "US-PA"), ("Philly", "US-PA"),
    ("CT", "US-CT"), ("NJ", "US-NJ"), ("New Jersey", "US-NJ"), ("Belle MO", "US-MO"),
    ("Logan International Airport", "US-MA"), ("Seattle", "US-WA"), ("Seattle, WA", "US-WA"),
    ("New Orleans, LA", "US-LA"), ("Portland, Maine", "US-ME"), ("Portland, OR", "US-OR"), ("Vancouver, WA", "US-WA"),
    ("Lewes, DE, USA", "US-DE"), ("Ottawa, Canada", "CA"), ("Toronto", "CA"), ("North Saanich, BC", "CA"),
    ("London", "GB"), ("UK", "GB"), ("London, England", "GB"), ("Mexico City", "MX"), ("Hong Kong", "HK"),
    ("Abu Dhabi", "AE"), ("Melbourne, Australia", "AU"), ("Russia, Россия", "RU"), ("Pekin", "CN"),
    ("USA", "US"), ("United States", "US"), ("Global", ""), ("Everywhere", ""), ("Earth", ""),
    ("Does it really matter", ""), ("Somewhere over the rainbow.", ""), ("Pursuit of Happiness", ""), ("", ""),
]


@pytest.mark.parametrize(("text", "region"), REAL)
def test_real_locations(text, region):
    assert normalise_location(text) == region


def test_region_names():
    assert region_name("US-TX") == "Texas"
    assert region_name("GB") == "United Kingdom"
    assert region_name("") == "Unknown"


@pytest.mark.skipif(not DATA.exists(), reason="the shared data sets are not beside the checkout")
def test_most_of_the_real_locations_are_placed_and_the_common_ones_right():
    with DATA.open(newline="", encoding="utf-8") as handle:
        counts = Counter(row["location"].strip() for row in csv.DictReader(handle))
    written = {text: n for text, n in counts.items() if text}
    placed = sum(n for text, n in written.items() if normalise_location(text))
    # Most of the posts with a profile location are placed (the rest are jokes, "Global", "Earth"...).
    assert placed / sum(written.values()) > 0.7
    # Every US state code after a comma ("Town, ST") is read as that state.
    for text in written:
        parts = [part.strip() for part in text.split(",")]
        if len(parts) == 2 and parts[1] in US_STATES:
            assert normalise_location(text) == f"US-{parts[1]}", text
