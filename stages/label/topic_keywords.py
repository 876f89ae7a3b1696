"""The keyword taxonomy of the topic labeler: twelve everyday web topics, ~30 telling words each.

Words are single lowercase words (the labeler matches normalised words, not phrases) and each belongs to one
topic only: a word shared by two topics ("ticket", "tomato") says nothing about which one a page is about.
Inflected forms are listed where pages use them as often as the base form.
"""

from __future__ import annotations

OTHER_TOPIC = "other"

_KEYWORDS: dict[str, str] = {
    "cooking": """
        recipe recipes cook cooking cooked bake baking baked oven skillet saucepan simmer whisk
        ingredient ingredients flour butter sugar garlic onion onions sauce soup stew dough chef
        cookbook dessert dinner broth marinade tablespoon teaspoon delicious crispy
    """,
    "travel": """
        travel traveler travelers trip trips flight flights airport hotel hotels hostel passport
        itinerary destination destinations tourist tourists tour sightseeing luggage suitcase visa
        beach island village cruise resort journey souvenir layover booking scenic
    """,
    "software": """
        software code coding developer developers programming bug bugs debug debugging compiler
        database server deploy deployment repository commit api framework library function refactor
        script python javascript latency backend frontend app documentation
    """,
    "finance": """
        finance financial money budget budgeting bank banking loan loans mortgage investment
        investments invest investor stock stocks bond bonds portfolio dividend dividends tax taxes
        savings retirement inflation debt credit broker interest income
    """,
    "health": """
        health healthy doctor doctors nurse patient patients symptom symptoms disease treatment
        diet vitamin vitamins supplement medication clinic headache fever infection vaccine
        nutrition calorie calories anxiety fatigue hydration therapist chronic immune
    """,
    "sports": """
        sport sports game games match team teams player players coach league goal goals
        score scored stadium referee tournament championship trophy athlete athletes striker
        quarterback goalkeeper marathon penalty playoff victory
    """,
    "gardening": """
        garden gardens gardening gardener plant plants planting seed seeds seedling seedlings
        soil compost mulch prune pruning weed weeds greenhouse shrub shrubs bloom blooms perennial
        fertilizer harvest sow trellis lawn
    """,
    "history": """
        history historian historians historical ancient medieval empire emperor king kings queen
        dynasty century centuries war wars battle army treaty revolution archive manuscript
        archaeologist archaeologists monument civilization reign conquest colonial
    """,
    "music": """
        music musical musician musicians song songs album albums band bands singer guitar piano drums
        concert concerts melody chord chords lyrics rhythm studio orchestra choir playlist genre
        chorus guitarist drummer acoustic
    """,
    "science": """
        science scientific scientist scientists experiment experiments hypothesis theory research
        researcher researchers laboratory molecule molecules atom atoms particle particles galaxy
        telescope microscope physics chemistry biology gene genes species orbit
    """,
    "cars": """
        car cars vehicle vehicles engine engines tire tires brake brakes mechanic garage dealer
        dealership sedan truck hatchback suv gearbox transmission clutch exhaust mileage fuel
        gasoline diesel horsepower torque highway headlight windshield
    """,
    "parenting": """
        parent parents parenting child children kid kids baby babies toddler toddlers mom dad
        daughter son bedtime nap tantrum tantrums diaper diapers stroller daycare babysitter
        playground pediatrician homework sibling siblings
    """,
}

TOPIC_KEYWORDS: dict[str, tuple[str, ...]] = {
    topic: tuple(words.split()) for topic, words in _KEYWORDS.items()
}
TOPIC_NAMES: tuple[str, ...] = tuple(TOPIC_KEYWORDS)
ALL_TOPIC_LABELS: tuple[str, ...] = (*TOPIC_NAMES, OTHER_TOPIC)
