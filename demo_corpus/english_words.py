"""The embedded English lexicon of the demo corpus: general words plus a vocabulary per topic.

Lists are whitespace-separated, most frequent first (the sampler gives them Zipf weights in this order).
`_` joins a multiword entry (`cutting_board`). An irregular plural is written `singular/plural`, an
irregular verb `base/past/participle`; everything else is inflected by `demo_corpus.morphology`.
"""

from __future__ import annotations

from dataclasses import dataclass

GENERAL_NOUNS = """
time way day thing man/men world life/lives hand part child/children eye woman/women place week case point
number group problem fact home area question side company system program family hour game night month story
job room book word business issue service head friend house idea end door result change city reason morning
team moment minute level office face process school student plan price market decision road experience picture
detail choice step project task list meeting rule order voice report member community country table view size
value goal method approach feature benefit risk effort chance effect reader customer owner expert neighbor
guest visitor partner teacher leader worker writer author colleague stranger weekend season evening afternoon
couple box bag bottle window wall floor corner street town village river lake mountain island beach forest
park field farm bridge station hotel restaurant shop store library museum hospital church kitchen bedroom
chair desk shelf screen phone computer camera letter message note page chapter article paper magazine
newspaper website video photo image map sign tool machine device battery cable lamp key lock card ticket gift
prize reward lesson course class exam test score grade subject topic theme argument opinion belief feeling
memory dream hope fear doubt surprise mistake error success failure habit routine trick secret tip hint
example sample pattern trend shape color sound smell taste surface edge line circle piece section layer
version copy model style design standard budget cost fee bill deal offer sale discount purchase payment
account record file folder schedule deadline calendar holiday vacation trip visit event party celebration
ceremony wedding birthday conference workshop seminar lecture interview conversation discussion debate speech
announcement warning promise request answer response reply comment review survey poll study analysis summary
conclusion introduction outline draft plot character scene episode series movie show channel podcast blog post
forum thread user account profile password update upgrade release launch campaign strategy policy proposal
agreement contract license permit document form application position career role duty responsibility skill
talent strength weakness advantage challenge opportunity solution option alternative factor element aspect
component unit item product brand label package delivery shipment container basket jar cup glass plate bowl
spoon fork knife blanket pillow towel shirt jacket coat shoe boot hat bicycle boat plane train bus truck
"""

GENERAL_MASS_NOUNS = """
information advice research knowledge money water food time energy attention support progress help fun
equipment furniture weather traffic noise space power experience history pressure freedom safety health
"""

GENERAL_VERBS = """
make/made/made take/took/taken see/saw/seen get/got/gotten give/gave/given find/found/found use want need try
keep/kept/kept start show/showed/shown hear/heard/heard play move like love hold/held/held
bring/brought/brought write/wrote/written provide lose/lost/lost pay/paid/paid meet/met/met include
set/set/set learn change lead/led/led understand/understood/understood watch follow stop create read/read/read
spend/spent/spent grow/grew/grown open win/won/won offer remember consider buy/bought/bought serve
send/sent/sent build/built/built expect reach cover explain develop carry require raise pass sell/sold/sold
handle pull describe check choose/chose/chosen compare improve protect share prepare replace test visit
support notice measure manage fix clean collect design discover enjoy explore finish repair review study plan
organize order pick push save shape sort store track update adjust avoid borrow count cut/cut/cut deliver drop
fill lift mix pack paint place press reduce remove return rent solve switch teach/taught/taught
throw/threw/thrown touch trust turn wash wrap draw/drew/drawn drive/drove/driven catch/caught/caught
hide/hid/hidden break/broke/broken forget/forgot/forgotten feed/fed/fed mention recommend suggest
prefer/preferred/preferred accept admire adopt appreciate arrange assemble attach attract bend/bent/bent
calculate capture celebrate clear combine complete connect control/controlled/controlled convince copy correct
define deliver demonstrate destroy determine display divide double earn edit encourage examine exchange extend
fold follow gather guide hire identify ignore imagine introduce invite join judge label lend/lent/lent limit
list locate maintain mark match miss observe obtain operate own paint perform plant polish predict present
produce promote publish reach receive recognize record reject release repeat request rescue reserve respect
schedule search secure select separate settle sign sketch spot squeeze stack steal/stole/stolen stretch study
test tidy trace trade transform trim upgrade value verify welcome
"""

GENERAL_ADJECTIVES = """
good new long great old big high different small large early young important bad real strong clear simple hard
easy whole full short true free special major common local recent popular final main serious basic perfect
nice huge tiny quick slow quiet loud bright dark warm cold hot cool fresh clean dry wet heavy light soft rough
smooth sharp thick thin deep wide narrow safe dangerous cheap expensive rich poor busy empty open ready happy
sad proud lucky careful useful helpful practical reliable flexible efficient effective obvious strange unusual
familiar typical normal natural modern traditional classic original unique rare regular daily weekly annual
complete entire massive significant positive negative honest friendly patient confident curious calm gentle
brave clever smart wise silly funny beautiful pretty ugly lovely wonderful amazing terrible awful excellent
decent fair reasonable solid stable steady constant gradual sudden rapid complex detailed precise accurate
exact vague subtle minor extra spare personal private social political economic cultural historical physical
mental emotional visual digital technical medical financial legal global national international regional rural
urban northern southern eastern western central broad compact crowded distant elegant fancy formal generous
humble ideal independent informal innocent loyal mature modest narrow neat odd plain polite quiet random
remarkable rare relaxed reluctant responsible rigid risky sensible sensitive severe shallow shiny sincere slim
sturdy suitable superb sweet tense tidy tough tricky ultimate urgent vast vivid weak weird wild worthy
"""

GENERAL_ADVERBS = """
really quickly slowly carefully easily finally actually usually always simply clearly probably certainly
recently nearly almost quietly gently suddenly gradually rarely regularly constantly completely entirely
partly mostly fully barely hardly quite rather truly honestly naturally obviously especially eventually
immediately directly properly safely closely widely deeply highly heavily lightly briefly frequently
occasionally seriously strongly openly happily sadly luckily politely patiently calmly efficiently effectively
successfully accurately precisely roughly steadily smoothly firmly freely loosely neatly sometimes often
"""

FIRST_NAMES = """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph
Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Paul Ashley Steven
Kimberly Andrew Emily Joshua Donna Kevin Michelle Brian Carol George Amanda Timothy Melissa Ronald Deborah
Jason Stephanie Ryan Rebecca Jacob Laura Gary Helen Nicholas Sharon Eric Cynthia Jonathan Kathleen Larry Amy
Justin Angela Scott Anna Brandon Ruth Benjamin Brenda Samuel Pamela Gregory Nicole Alexander Katherine Patrick
Samantha Frank Christine Raymond Emma Jack Rachel Dennis Carolyn Jerry Janet Tyler Maria Aaron Olivia Henry
Heather Adam Diane Nathan Julie Peter Joyce Zachary Victoria Kyle Grace Noah Sophia Ethan Chloe Priya Omar Mei
Diego Fatima Hiroshi Elena Kwame Ingrid Rafael Aisha Lars Sofia Mateo Leila Arjun Nadia Tomas Yuki Ahmed Lucia
"""

LAST_NAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera
Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart
Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim
Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Fisher Vasquez Simmons Graham Marshall Owens Harrison Fernandez Mcdonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon
Mendez Silva Shaw Snyder Mason Dixon Okafor Lindqvist Tanaka Kowalski Novak Haddad Brennan Dubois Schmidt
Rossi Yamamoto Singh Larsen Moreau
"""

CITIES = """
London Paris Berlin Madrid Rome Chicago Boston Seattle Denver Austin Portland Toronto Vancouver Montreal
Sydney Melbourne Auckland Dublin Edinburgh Manchester Lisbon Barcelona Amsterdam Brussels Vienna Prague
Budapest Warsaw Stockholm Oslo Copenhagen Helsinki Athens Istanbul Cairo Nairobi Lagos Mumbai Delhi Bangalore
Singapore Bangkok Tokyo Osaka Seoul Shanghai Beijing Manila Jakarta Dallas Houston Phoenix Atlanta Miami
Nashville Detroit Minneapolis Pittsburgh Baltimore Sacramento Calgary Ottawa Glasgow Bristol Leeds Lyon Munich
Hamburg Milan Naples Seville Porto Krakow Zurich Geneva Kyoto Perth Brisbane Adelaide Wellington Cape_Town
Mexico_City San_Diego New_Orleans Salt_Lake_City
"""

ORGANIZATION_SUFFIXES = """
Group Labs Partners Foundation Institute Associates Media Holdings Research_Center Collective Trust Society
Works Studio Network Council Agency
"""

BRANDS = """
Kestrel Northwind Bluepeak Ironwood Solara Everline Brightwater Copperleaf Redfern Stonebridge Larkspur
Oakmont Silverline Tidewell Greyhawk Maplecrest Summit Pinegrove Harbor Vantage Aurora Meridian Crestview
Fieldstone Wildrose Lakeshore Westbrook Foxglove Driftwood Highland
"""

MODEL_NAMES = """
X200 Pro_3 S5 Mini Plus Max Lite K40 V2 Series_7 Classic Edge Air One Go Elite Sport Studio Prime Flex
"""

MONTHS = "January February March April May June July August September October November December"
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
NUMBER_WORDS = "two three four five six seven eight nine ten eleven twelve"
USERNAME_SUFFIXES = "42 77 _uk 2000 _fan _dev 88 _jr 13 _home 99 _writes 21 _pdx 5"


@dataclass(frozen=True)
class TopicWords:
    """The words of one topic: they make documents about the same subject share vocabulary, not text."""

    nouns: str
    mass_nouns: str
    verbs: str
    adjectives: str
    products: str


TOPICS: dict[str, TopicWords] = {
    "cooking": TopicWords(
        nouns="""recipe dish meal sauce oven pan pot onion tomato/tomatoes potato/potatoes carrot egg
        spoon bowl ingredient flavor spice herb soup stew salad cake cookie loaf/loaves pie chef cook
        cookbook grill skillet casserole noodle lemon pepper mushroom bean lentil sandwich burger pancake
        muffin batch portion serving dinner lunch breakfast snack dessert marinade crust fillet steak
        sausage slice teaspoon tablespoon cutting_board baking_sheet thermometer blender mixer fridge
        freezer leftover appetizer vegetable apple banana berry""",
        mass_nouns="""flour sugar butter salt rice pasta olive_oil garlic cream milk cheese chocolate
        broth yeast honey vinegar dough ginger""",
        verbs="""cook bake roast fry grill stir chop slice peel season whisk simmer boil serve knead melt
        toast drain marinate blend sprinkle pour dice grate sear braise garnish reheat freeze/froze/frozen""",
        adjectives="""crispy tender juicy savory spicy salty creamy crunchy golden fluffy homemade
        delicious tasty ripe bitter sour hearty moist chewy flaky zesty""",
        products="""stand_mixer chef_knife cast_iron_skillet food_processor slow_cooker rice_cooker
        air_fryer dutch_oven espresso_machine spice_grinder""",
    ),
    "travel": TopicWords(
        nouns="""trip journey flight airport hotel hostel passport ticket suitcase backpack itinerary
        destination guide tour beach island mountain village museum cathedral market train bus ferry
        station border visa map route view sunset coast lake trail hike road_trip tourist traveler
        souvenir cafe street square neighborhood landmark castle temple bridge harbor cruise resort
        campsite booking reservation layover currency guidebook boarding_pass""",
        mass_nouns="""luggage scenery accommodation transport sightseeing wildlife sunshine traffic""",
        verbs="""book visit explore pack catch/caught/caught board miss rent cross reach discover
        photograph navigate recommend tour plan reserve cancel unpack check skip admire climb""",
        adjectives="""scenic crowded remote picturesque charming historic bustling cozy budget luxury
        affordable breathtaking sunny rainy exotic peaceful lively coastal ancient touristy overpriced""",
        products="""travel_pillow rolling_suitcase hiking_backpack travel_adapter packing_cube""",
    ),
    "software": TopicWords(
        nouns="""bug feature function library framework server database query test deployment release
        branch commit repository script module class variable loop thread process container cluster
        endpoint request response user developer engineer team sprint ticket pull_request code_review
        compiler editor terminal command error exception log dashboard interface plugin package dependency
        config_file API browser app laptop keyboard screen algorithm cache backup patch version
        integration pipeline workflow""",
        mass_nouns="""code software documentation memory storage latency data feedback infrastructure
        technical_debt""",
        verbs="""debug/debugged/debugged deploy install configure refactor compile test merge review
        release optimize monitor document migrate upgrade rewrite/rewrote/rewritten fix automate profile
        parse cache query build/built/built ship patch benchmark log""",
        adjectives="""slow fast buggy stable scalable robust legacy asynchronous lightweight modular
        secure outdated verbose readable maintainable flaky concurrent distributed automated experimental""",
        products="""mechanical_keyboard laptop_stand USB_hub external_monitor code_editor""",
    ),
    "finance": TopicWords(
        nouns="""budget account bank loan mortgage interest_rate credit_score investment stock bond fund
        portfolio dividend tax return expense paycheck bill retirement_plan pension broker investor
        advisor market economy recession share index fee transaction deposit withdrawal spreadsheet
        receipt emergency_fund asset liability profit loss quarter earnings_report bank_statement
        exchange_rate startup shareholder accountant landlord tenant salary""",
        mass_nouns="""money cash inflation equity capital wealth credit insurance interest debt""",
        verbs="""invest save spend/spent/spent borrow lend/lent/lent earn pay/paid/paid budget track
        diversify withdraw/withdrew/withdrawn deposit refinance audit calculate estimate allocate afford
        repay/repaid/repaid owe charge transfer/transferred/transferred negotiate
        forecast/forecast/forecast hedge""",
        adjectives="""profitable risky volatile conservative aggressive monthly annual fixed variable
        passive liquid costly affordable frugal wealthy diversified cautious lucrative""",
        products="""budgeting_app finance_book pocket_calculator leather_wallet""",
    ),
    "health": TopicWords(
        nouns="""doctor nurse patient symptom disease treatment diet workout muscle bone heart brain lung
        vitamin supplement medication pill dose clinic appointment checkup headache fever injury infection
        virus vaccine blood_test habit meal_plan calorie joint stretch walk routine therapist body weight
        heart_rate allergy condition recovery""",
        mass_nouns="""sleep stress water fiber protein sugar caffeine hydration nutrition blood_pressure
        fatigue anxiety exercise""",
        verbs="""treat prevent reduce improve boost diagnose prescribe strengthen stretch monitor avoid
        cure ease relieve lower increase manage heal track limit measure examine""",
        adjectives="""healthy chronic acute mild severe painful nutritious balanced active sedentary
        clinical tired sore hydrated immune gentle""",
        products="""fitness_tracker yoga_mat water_bottle blood_pressure_monitor foam_roller
        resistance_band""",
    ),
    "sports": TopicWords(
        nouns="""game match team player coach season league goal point score ball field court stadium fan
        referee tournament championship trophy medal race runner athlete training_session practice injury
        contract transfer striker goalkeeper defender pitcher quarterback kickoff inning lap finish_line
        sprint marathon bicycle racket helmet jersey rival victory defeat penalty shot pass tackle rebound""",
        mass_nouns="""momentum stamina defense offense talent footwork fitness""",
        verbs="""score win/won/won lose/lost/lost beat/beat/beaten defend coach train sign kick
        throw/threw/thrown catch/caught/caught pass block tackle shoot/shot/shot dribble serve celebrate
        dominate host recruit trade""",
        adjectives="""athletic competitive defensive offensive talented undefeated injured dominant
        tactical veteran professional amateur thrilling disappointing decisive rookie""",
        products="""running_shoe tennis_racket soccer_ball sports_watch gym_bag bike_helmet""",
    ),
    "gardening": TopicWords(
        nouns="""plant seed seedling flower tree shrub bush leaf/leaves root stem bloom garden_bed
        raised_bed pot container greenhouse shovel rake hose watering_can pest weed slug aphid bee
        butterfly worm tomato_plant herb rose tulip bulb vine hedge lawn branch harvest crop row plot
        trellis sprout fruit_tree pumpkin zucchini cucumber compost_bin gardener frost""",
        mass_nouns="""soil compost mulch fertilizer sunlight water shade moisture grass manure drainage
        rain""",
        verbs="""plant water prune dig/dug/dug harvest weed fertilize mulch sow/sowed/sown transplant trim
        grow/grew/grown spread/spread/spread protect attract feed/fed/fed compost repot stake thin cover""",
        adjectives="""green leafy organic native perennial hardy shady sunny fertile moist overgrown lush
        dormant wild blooming edible invasive""",
        products="""garden_hose pruning_shears raised_garden_bed seed_starter_kit watering_can
        garden_gloves""",
    ),
    "history": TopicWords(
        nouns="""war empire king queen emperor battle army soldier general treaty revolution century
        decade era kingdom castle ruin artifact manuscript document archive historian archaeologist
        scholar monument dynasty colony republic parliament rebellion trade_route merchant ship voyage
        explorer invasion siege fortress temple tomb coin inscription chronicle legend myth tribe peasant
        noble crown throne reign province civilization pyramid diary""",
        mass_nouns="""evidence trade power territory land gold silver religion culture heritage propaganda""",
        verbs="""conquer rule defeat build/built/built found establish invade sign record excavate
        rebuild/rebuilt/rebuilt destroy defend capture crown abolish discover translate study document
        preserve restore unite divide reform""",
        adjectives="""ancient medieval colonial imperial royal military religious classical victorious
        powerful brutal legendary feudal prehistoric forgotten famous""",
        products="""history_book documentary world_atlas biography box_set""",
    ),
    "music": TopicWords(
        nouns="""song album band singer guitar piano drum violin concert tour stage lyric melody chord
        note rhythm beat track record studio producer musician composer orchestra choir audience festival
        performance rehearsal playlist genre verse chorus solo amplifier microphone speaker label single
        debut ballad anthem scale tempo bass_line drummer guitarist pianist ticket venue""",
        mass_nouns="""music jazz rock folk harmony noise sound silence applause""",
        verbs="""play sing/sang/sung write/wrote/written record compose perform release produce mix tune
        practice rehearse strum improvise arrange conduct cover remix master hum stream download sample
        teach/taught/taught""",
        adjectives="""acoustic electric catchy melodic loud live instrumental rhythmic upbeat melancholy
        soulful iconic underrated polished raw haunting""",
        products="""acoustic_guitar studio_headphones digital_piano bluetooth_speaker guitar_amplifier
        microphone_stand""",
    ),
    "science": TopicWords(
        nouns="""experiment scientist researcher theory hypothesis sample cell molecule atom particle
        planet star galaxy telescope microscope laboratory study journal result measurement variable model
        equation element compound reaction gene protein species fossil ecosystem climate_model satellite
        probe orbit mission dataset graph observation signal wave force temperature solution crystal
        mineral organism neuron simulation sensor""",
        mass_nouns="""energy matter gravity radiation oxygen carbon nitrogen evidence research light heat
        electricity""",
        verbs="""measure observe test analyze publish discover detect predict calculate simulate replicate
        isolate identify classify sequence map model confirm challenge explain estimate record examine
        heat cool""",
        adjectives="""scientific chemical biological experimental theoretical molecular genetic cosmic
        solar microscopic statistical empirical quantum thermal magnetic atomic planetary novel""",
        products="""microscope telescope chemistry_set lab_notebook digital_scale""",
    ),
    "cars": TopicWords(
        nouns="""car engine wheel tire brake battery mechanic garage dealer driver seat dashboard
        steering_wheel gearbox transmission clutch exhaust bumper headlight windshield mirror trunk hood
        sedan truck van hatchback convertible electric_car hybrid mile highway fuel_tank spark_plug filter
        oil_change warranty test_drive model speedometer license_plate parking_spot charging_station motor
        suspension axle radiator pedal accident lease""",
        mass_nouns="""fuel gasoline diesel oil mileage traffic torque horsepower rust coolant""",
        verbs="""drive/drove/driven park repair replace inspect tow lease rent charge tune upgrade service
        wash polish steer test check rotate install restore sell/sold/sold buy/bought/bought register
        insure""",
        adjectives="""electric reliable spacious sporty used compact luxurious rusty noisy smooth powerful
        automatic manual vintage economical rugged sleek""",
        products="""seat_cover dash_cam tire_inflator jump_starter phone_mount floor_mat""",
    ),
    "parenting": TopicWords(
        nouns="""child/children kid baby toddler teenager parent mother father mom dad family daughter son
        sibling grandparent bedtime nap tantrum diaper stroller crib toy school teacher daycare babysitter
        playground lunchbox meal rule routine chore allowance milestone birthday party friend nursery
        bottle pacifier car_seat backpack bath story game puzzle crayon drawing tooth/teeth pediatrician
        classmate sleepover""",
        mass_nouns="""patience discipline sleep attention praise independence screen_time laundry homework
        advice support""",
        verbs="""raise feed/fed/fed comfort encourage teach/taught/taught praise discipline hug soothe
        bathe dress read/read/read supervise reward remind support protect guide entertain distract
        schedule motivate calm""",
        adjectives="""patient tired curious stubborn shy playful gentle busy proud anxious independent
        picky energetic sleepy cranky supportive loving strict messy gifted""",
        products="""baby_monitor jogging_stroller board_book activity_gym sippy_cup""",
    ),
}
