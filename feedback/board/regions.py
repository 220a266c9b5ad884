"""Free-text locations ("NYC", "Austin, TX", "Houston", "Ottawa, Canada") to a region code: a US
state as "US-TX" (DC as "US-DC"), another country as its ISO 3166 code ("GB"), the United States
without a state as "US", and "" when the text names no place (or one we cannot place: "Earth",
"somewhere over the rainbow"). Pure Python, no network: a small gazetteer of states, countries
and large cities, and the usual ways people write them on a profile.

How a text is read, first match wins:
1. the whole text is a known place (state, state code, country, city or nickname: "NYC", "Philly");
2. split on commas, slashes, dashes and " and ": the last part that is a state code written in
   capitals ("Belle MO", "McKinney TX"), a state or country name, or a known city, from the end
   ("Dallas, Texas" -> Texas; "Lewes, DE, USA" -> Delaware before USA);
3. otherwise the first part that is a known city.
tests/feedback/board/test_regions.py checks it on real profile locations of airline_mentions.csv.
"""

import re
from functools import lru_cache

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}

COUNTRIES = {
    "US": "United States", "GB": "United Kingdom", "CA": "Canada", "MX": "Mexico", "IE": "Ireland",
    "FR": "France", "DE": "Germany", "ES": "Spain", "IT": "Italy", "NL": "Netherlands", "BE": "Belgium",
    "CH": "Switzerland", "AT": "Austria", "SE": "Sweden", "NO": "Norway", "DK": "Denmark", "FI": "Finland",
    "PT": "Portugal", "GR": "Greece", "PL": "Poland", "RU": "Russia", "TR": "Turkey", "IL": "Israel",
    "AE": "United Arab Emirates", "QA": "Qatar", "SA": "Saudi Arabia", "EG": "Egypt", "ZA": "South Africa",
    "NG": "Nigeria", "KE": "Kenya", "IN": "India", "PK": "Pakistan", "CN": "China", "HK": "Hong Kong",
    "JP": "Japan", "KR": "South Korea", "SG": "Singapore", "MY": "Malaysia", "TH": "Thailand",
    "PH": "Philippines", "ID": "Indonesia", "AU": "Australia", "NZ": "New Zealand", "BR": "Brazil",
    "AR": "Argentina", "CL": "Chile", "CO": "Colombia", "PE": "Peru", "VE": "Venezuela", "JM": "Jamaica",
    "BS": "Bahamas", "DO": "Dominican Republic", "CR": "Costa Rica", "PA": "Panama", "CU": "Cuba",
}

_COUNTRY_ALIASES = {
    "usa": "US", "u.s.a.": "US", "u.s.a": "US", "u.s.": "US", "us": "US", "united states of america": "US",
    "america": "US", "the united states": "US", "uk": "GB", "u.k.": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "great britain": "GB", "britain": "GB", "northern ireland": "GB", "россия": "RU",
    "deutschland": "DE", "españa": "ES", "méxico": "MX", "uae": "AE", "the netherlands": "NL", "holland": "NL",
    "korea": "KR", "brasil": "BR", "nippon": "JP", "canada eh": "CA",
}

# Canadian provinces: their two-letter codes clash with no state but are written like them.
_CA_PROVINCES = {
    "ON": "ontario", "BC": "british columbia", "QC": "quebec", "AB": "alberta", "MB": "manitoba",
    "NS": "nova scotia", "NB": "new brunswick", "SK": "saskatchewan", "NL": "newfoundland", "PE": "prince edward island",
}

# Cities, boroughs and nicknames people write alone: lower-case name -> region.
_CITIES = {
    # New York
    "new york city": "US-NY", "nyc": "US-NY", "ny": "US-NY", "new york": "US-NY", "manhattan": "US-NY",
    "brooklyn": "US-NY", "bk": "US-NY", "queens": "US-NY", "bronx": "US-NY", "the bronx": "US-NY",
    "staten island": "US-NY", "harlem": "US-NY", "long island": "US-NY", "buffalo": "US-NY",
    "rochester": "US-NY", "albany": "US-NY", "yonkers": "US-NY", "syracuse": "US-NY", "the big apple": "US-NY",
    # California
    "los angeles": "US-CA", "la": "US-CA", "l.a.": "US-CA", "san francisco": "US-CA", "sf": "US-CA",
    "san francisco bay area": "US-CA", "bay area": "US-CA", "sf bay area": "US-CA", "san diego": "US-CA",
    "san jose": "US-CA", "oakland": "US-CA", "sacramento": "US-CA", "irvine": "US-CA",
    "north hollywood": "US-CA", "hollywood": "US-CA", "santa monica": "US-CA", "pasadena": "US-CA",
    "long beach": "US-CA", "silicon valley": "US-CA", "palo alto": "US-CA", "berkeley": "US-CA",
    "southern california": "US-CA", "socal": "US-CA", "norcal": "US-CA", "northern california": "US-CA",
    "orange county": "US-CA", "fresno": "US-CA", "san fran": "US-CA",
    # Texas
    "austin": "US-TX", "houston": "US-TX", "dallas": "US-TX", "san antonio": "US-TX", "fort worth": "US-TX",
    "dfw": "US-TX", "el paso": "US-TX", "plano": "US-TX", "mckinney": "US-TX", "arlington tx": "US-TX",
    "htx": "US-TX", "atx": "US-TX",
    # others, by state
    "chicago": "US-IL", "chicagoland": "US-IL", "chi-town": "US-IL", "chitown": "US-IL",
    "boston": "US-MA", "cambridge": "US-MA", "logan international airport": "US-MA", "new england": "",
    "washington dc": "US-DC", "washington d.c.": "US-DC", "washington, d.c.": "US-DC", "dc": "US-DC",
    "d.c.": "US-DC", "d.c": "US-DC", "district of columbia": "US-DC", "dmv": "US-DC",
    "philadelphia": "US-PA", "philly": "US-PA", "pittsburgh": "US-PA",
    "seattle": "US-WA", "tacoma": "US-WA", "spokane": "US-WA",
    "portland": "US-OR", "pdx": "US-OR",
    "las vegas": "US-NV", "vegas": "US-NV", "reno": "US-NV",
    "denver": "US-CO", "boulder": "US-CO", "colorado springs": "US-CO",
    "phoenix": "US-AZ", "tucson": "US-AZ", "scottsdale": "US-AZ", "tempe": "US-AZ",
    "atlanta": "US-GA", "atl": "US-GA", "savannah": "US-GA",
    "miami": "US-FL", "orlando": "US-FL", "tampa": "US-FL", "jacksonville": "US-FL", "fort lauderdale": "US-FL", "ft. lauderdale": "US-FL", "ft lauderdale": "US-FL",
    "tallahassee": "US-FL", "south florida": "US-FL", "west palm beach": "US-FL", "key west": "US-FL",
    "nashville": "US-TN", "memphis": "US-TN", "knoxville": "US-TN", "chattanooga": "US-TN",
    "new orleans": "US-LA", "nola": "US-LA", "baton rouge": "US-LA",
    "detroit": "US-MI", "ann arbor": "US-MI", "grand rapids": "US-MI",
    "minneapolis": "US-MN", "st. paul": "US-MN", "saint paul": "US-MN", "twin cities": "US-MN",
    "st. louis": "US-MO", "stl": "US-MO", "st louis": "US-MO", "saint louis": "US-MO", "kansas city": "US-MO",
    "cleveland": "US-OH", "columbus": "US-OH", "cincinnati": "US-OH", "toledo": "US-OH",
    "indianapolis": "US-IN", "milwaukee": "US-WI", "madison": "US-WI",
    "charlotte": "US-NC", "raleigh": "US-NC", "durham": "US-NC", "asheville": "US-NC", "greensboro": "US-NC",
    "charleston": "US-SC", "columbia sc": "US-SC", "greenville": "US-SC",
    "baltimore": "US-MD", "annapolis": "US-MD",
    "richmond": "US-VA", "norfolk": "US-VA", "virginia beach": "US-VA", "alexandria": "US-VA",
    "northern virginia": "US-VA", "nova": "US-VA",
    "newark": "US-NJ", "hoboken": "US-NJ", "jersey city": "US-NJ", "jersey": "US-NJ", "princeton": "US-NJ",
    "hartford": "US-CT", "new haven": "US-CT", "stamford": "US-CT",
    "providence": "US-RI", "salt lake city": "US-UT", "slc": "US-UT", "honolulu": "US-HI",
    "anchorage": "US-AK", "louisville": "US-KY", "lexington": "US-KY", "omaha": "US-NE",
    "oklahoma city": "US-OK", "tulsa": "US-OK", "albuquerque": "US-NM", "santa fe": "US-NM",
    "boise": "US-ID", "des moines": "US-IA", "little rock": "US-AR", "birmingham al": "US-AL",
    "san juan": "US-PR", "burlington vt": "US-VT",
    # abroad
    "london": "GB", "manchester": "GB", "edinburgh": "GB", "glasgow": "GB", "toronto": "CA", "montreal": "CA",
    "vancouver": "CA", "ottawa": "CA", "calgary": "CA", "edmonton": "CA", "mexico city": "MX", "paris": "FR", "berlin": "DE",
    "munich": "DE", "madrid": "ES", "barcelona": "ES", "rome": "IT", "milan": "IT", "amsterdam": "NL",
    "dublin": "IE", "zurich": "CH", "stockholm": "SE", "moscow": "RU", "istanbul": "TR", "tel aviv": "IL",
    "dubai": "AE", "abu dhabi": "AE", "doha": "QA", "mumbai": "IN", "delhi": "IN", "new delhi": "IN",
    "bangalore": "IN", "beijing": "CN", "pekin": "CN", "shanghai": "CN", "tokyo": "JP", "seoul": "KR",
    "sydney": "AU", "melbourne": "AU", "auckland": "NZ", "sao paulo": "BR", "são paulo": "BR",
    "rio de janeiro": "BR", "buenos aires": "AR", "lagos": "NG", "nairobi": "KE", "johannesburg": "ZA",
    "cape town": "ZA", "manila": "PH", "bangkok": "TH",
}

_STATE_NAMES = {name.lower(): f"US-{code}" for code, name in US_STATES.items()}
_STATE_NAMES.update({"washington state": "US-WA", "cali": "US-CA", "mass": "US-MA", "penn": "US-PA",
                     "jersey": "US-NJ", "n. carolina": "US-NC", "s. carolina": "US-SC"})
_COUNTRY_NAMES = {name.lower(): code for code, name in COUNTRIES.items()}
_COUNTRY_NAMES.update(_COUNTRY_ALIASES)
_PROVINCE_NAMES = {name: "CA" for name in _CA_PROVINCES.values()}

_SPLIT = re.compile(r"\s*(?:,|/|\||;|::|·|•|\s-\s|\s–\s|\bby way of\b|\band\b|&)\s*", re.IGNORECASE)
_TRAILING_CODE = re.compile(r"^(.*?)[\s.]+([A-Z]{2})\.?$")  # "Belle MO", "McKinney TX"
_NOISE = re.compile(r"[\"'“”‘’!?*#@()\[\]]+")
_NAMES = {**_COUNTRY_NAMES, **_PROVINCE_NAMES, **_STATE_NAMES, **_CITIES}  # a city wins over a state's name...
_NAMES["new york"] = "US-NY"
_NAMES["washington"] = "US-WA"  # alone, the state; "Washington, DC" and "Washington DC" are DC


def region_name(code: str) -> str:
    """A region code's display name: "US-TX" -> "Texas", "GB" -> "United Kingdom", "" -> "Unknown"."""
    if not code:
        return "Unknown"
    if code.startswith("US-"):
        return US_STATES.get(code[3:], code)
    return COUNTRIES.get(code, code)


def _exact(text: str) -> str | None:
    """The region of a text that is a place name as a whole (case-insensitive), else None."""
    key = text.strip(" .").lower()
    if key in _NAMES:
        return _NAMES[key]
    if text.strip() in US_STATES and text.strip().isupper():
        return f"US-{text.strip()}"
    if text.strip().upper() in _CA_PROVINCES and text.strip().isupper():
        return "CA"
    return None


def _part(part: str) -> str | None:
    """The region a comma-separated part names: a state code in capitals, a name, a city."""
    code = part.strip(" .")
    if len(code) == 2 and code.isupper() and code in US_STATES:  # after a comma "LA" is Louisiana
        return f"US-{code}"
    found = _exact(part)
    if found is not None:
        return found
    match = _TRAILING_CODE.match(part.strip())
    if match and match.group(2) in US_STATES:
        return f"US-{match.group(2)}"
    if match and match.group(2) in _CA_PROVINCES:
        return "CA"
    return None


@lru_cache(maxsize=100_000)
def normalise_location(text: str | None) -> str:
    """The region code of a free-text location ("" when it names no place we know)."""
    if not text:
        return ""
    cleaned = _NOISE.sub(" ", text).strip()
    cleaned = re.sub(r"\s+", " ", cleaned)
    if not cleaned:
        return ""
    whole = _exact(cleaned)
    if whole is not None:
        return whole
    if re.fullmatch(r"washington,?\s*d\.?\s*c\.?", cleaned, re.IGNORECASE):
        return "US-DC"
    parts = [part for part in _SPLIT.split(cleaned) if part and part.strip(" .")]
    found = [_part(part) for part in parts]
    # The most specific part from the end: a state or a foreign country over a bare "USA".
    for region in reversed(found):
        if region and region != "US":
            return region
    if "US" in found:
        return "US"
    # A known city at the start of a longer phrase ("Nashville by way of New York" is split above).
    words = cleaned.lower().split()
    for length in (3, 2, 1):
        key = " ".join(words[:length])
        if len(words) > length and key in _CITIES and _CITIES[key]:
            return _CITIES[key]
    return ""
