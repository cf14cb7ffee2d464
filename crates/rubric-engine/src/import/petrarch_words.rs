//! Built-in word lists of the PETRARCH2 list importer ([`super::petrarch`]).
//!
//! Small on purpose: they only decide borderline cases the dictionaries themselves cannot (is a
//! surname also an everyday word, is a one-word name an acronym that must be matched in capitals,
//! is a name a person or an organisation). All lowercase.

/// Very common English words (function words, everyday nouns, verbs, adjectives, colours, months,
/// and the everyday words that are also family names: `brown`, `bush`, `ford`, `major`, `rice`;
/// the second paragraph lists words and brands found among the dictionaries' surnames, such as
/// `safari`, `coma`, `meta`, `pentagon`).
///
/// A surname on this list is never written to a `surnames_*` list (a headline classifier would fire
/// on "Brown" in "brown bears"); a one-word organisation or place name on it is written as an exact
/// term (`{WHO}`, `{US}`, `{Reading}`) so it only matches where it is written as a name.
pub const STOPLIST: &str = "
a about above across act action add after again against age ago agree aid air all almost alone
along already also although always am among an and another answer any anyone anything appear
are area arm army around art as ask at attack away baby back bad bag ball bank bar base be
bear beat beautiful because become bed been before began begin behind being believe bell below
best better between big bill bird bit black blue board boat body book born both bottom box boy
break bring brother brown build building burn bush business but buy by call came camp can car
care carry case cat catch cause center central certain chair chance change charge check chief
child children church city claim class clean clear close cold color come common cook cool
corner cost could count country course court cover cross cry cup current cut dark day dead deal
dear death decide deep did die different do does dog done door down draw dream dress drink
drive drop dry during each early earth east easy eat edge effect egg eight either else end
enough even evening event ever every example eye face fact fair fall family far farm fast
father fear feel few field fight fill final find fine fire first fish five floor fly follow
food foot for force ford form forward four free fresh friend from front full fun game garden
gate gates gave general get girl give glad go god gold gone good got great green ground group
grow guard guess gun had hair half hall hand happen happy hard has have he head hear heart heat
heavy held help her here high hill him his history hit hold hole home hope horse hot hour house
how however hundred hunt i ice idea if in inch inside into is island it its job join just keep
kept key kid kill kind king knew know land large last late laugh law lay lead learn least leave
left leg less let letter level lie life light like line list listen little live long look lord
lose lot love low made main major make man many map march mark market master matter may me
mean meet member men middle might mile mill miller mills mind mine minute miss modern moment
money month moon more morning most mother mountain move much music must my name nation near
need never new news next nice night nine no none north not note nothing now number of off
office often oil old on once one only open or order other our out over own page paint pair
paper park part party pass past pay peace people perhaps person pick piece place plain plan
plant play please point poor popular port position possible post pound power present press
pretty price prince problem public pull put queen question quick quiet race rain raise ran
rather reach read ready real reason record red rest rice rich ride right ring rise river road
rock roll room rose round rule run safe said sail salt same sat save saw say school sea season
seat second see seem self sell send sense serve set seven several shall shape sharp she ship
shoe shop short should shot show side sign silver simple since sing sir sister sit six size
skin sky sleep slow small smile snow so soft soil some son song soon sound south space speak
special spring square stand star start state station stay steel step still stone stood stop
store story street strong student study such sugar summer sun support sure swim table take
talk tall teach team tell ten than that the their them then there these they thick thin thing
think third this those though thought thousand three through time tiny to today together told
too took top total touch toward town track trade train travel tree trip true try turn two
under unit until up upon us use usual valley very village visit voice wait walk wall want war
ward warm was wash watch water way we wear weather week well went were west what wheel when
where which while white who whole why wide wife wild will win wind window winter wire wise
wish with without woman women wonder wood word work world would write wrong yard year yes yet
you young your
arena audi baba baker balls banks blah bold boys bright bull burns butler card cheek coma
colon combo cope cousins darling demon dent ding easter ferrari ferry font glass grad gray grey
gross hardy hart heather hills hockey holder hood horn husbands kindle kiss knight lake lame
luna mama manga manning mans marks masters merits messing meta minor mint nova pentagon ping
pitcher pool reps ridge safari sandy sane shave silk singer skate straw swan tanner vale villa
vital waters wells wisdom wolf woods acting bonnet bong bowler brandy gemini gong grange luncheon
mane mesa nationalities neptune palo parts pickles pong sang saline shorten ting truss wally
january february april june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
";

/// Words that mark a name as an organisation, not a person (`Albert Schweitzer Fellowship`).
pub const ORGANISATION_WORDS: &str = "
academy administration agency alliance army assembly association authority bank battalion
board brigade brigades bureau cabinet campaign center centre chamber coalition college
commission committee community company conference congress corporation corps council court
department directorate division federation fellowship forces foundation front fund government
group guard headquarters hospital inc institute institution international league ltd ministry
mission movement national network office organisation organization parliament partnership
party press programme program project regime secretariat service services society tribunal
trust union university
";

/// Small words inside names: lowercase in the middle of a name (`Islamic Republic of
/// Afghanistan`, `Bashar al-Assad`), and never a given name or a surname on their own.
pub const PARTICLES: &str = "
a al an and ar as ash at ad az bin bint da de del della der des di do dos du e el et fi for
ibn in la le les of on the to ud ul van von wa wal y
";

/// Words after a surname (`Junior`, `III`): the surname is the word before them.
pub const NAME_SUFFIXES: &str = "jr jr. sr sr. ii iii iv junior senior";

/// Common English irregular verbs: `base past participle`, `/` between variants. The verb file
/// lists the irregular forms of most of its verbs in braces; these cover the ones it does not
/// (`SET`, `BRING`, `HIT`, `SPREAD`), so that no `setted` or `bringed` is written.
pub const IRREGULAR_VERBS: &str = "
arise arose arisen; awake awoke awoken; bear bore borne; beat beat beaten; become became become;
begin began begun; bend bent bent; bet bet bet; bid bid bid; bind bound bound; bite bit bitten;
bleed bled bled; blow blew blown; break broke broken; breed bred bred; bring brought brought;
broadcast broadcast broadcast; build built built; burn burned/burnt burned/burnt;
burst burst burst; buy bought bought; cast cast cast; catch caught caught; choose chose chosen;
cling clung clung; come came come; cost cost cost; creep crept crept; cut cut cut;
deal dealt dealt; dig dug dug; do did done; draw drew drawn; drink drank drunk;
drive drove driven; eat ate eaten; fall fell fallen; feed fed fed; feel felt felt;
fight fought fought; find found found; flee fled fled; fling flung flung; fly flew flown;
forbid forbade forbidden; forecast forecast forecast; foresee foresaw foreseen;
forget forgot forgotten; forgive forgave forgiven; forsake forsook forsaken;
freeze froze frozen; get got got/gotten; give gave given; go went gone; grind ground ground;
grow grew grown; hang hung/hanged hung/hanged; hear heard heard; hide hid hidden; hit hit hit;
hold held held; hurt hurt hurt; keep kept kept; kneel knelt knelt; know knew known;
lay laid laid; lead led led; leap leapt/leaped leapt/leaped; learn learned/learnt learned/learnt;
leave left left; lend lent lent; let let let; light lit/lighted lit/lighted; lose lost lost;
make made made; mean meant meant; meet met met; mislead misled misled; offset offset offset;
overcome overcame overcome; override overrode overridden; overrun overran overrun;
oversee oversaw overseen; overtake overtook overtaken; overthrow overthrew overthrown;
pay paid paid; plead pleaded/pled pleaded/pled; put put put; quit quit quit; read read read;
rebuild rebuilt rebuilt; recast recast recast; repay repaid repaid; reset reset reset;
rethink rethought rethought; rid rid rid; ride rode ridden; ring rang rung; rise rose risen;
run ran run; say said said; see saw seen; seek sought sought; sell sold sold; send sent sent;
set set set; shake shook shaken; shed shed shed; shine shone shone; shoot shot shot;
show showed shown; shrink shrank shrunk; shut shut shut; sing sang sung; sink sank sunk;
sit sat sat; slay slew slain; sleep slept slept; slide slid slid; speak spoke spoken;
speed sped sped; spend spent spent; spill spilled/spilt spilled/spilt; spin spun spun;
spit spat spat; split split split; spoil spoiled/spoilt spoiled/spoilt; spread spread spread;
spring sprang sprung; stand stood stood; steal stole stolen; stick stuck stuck;
sting stung stung; strike struck struck; strive strove striven; swear swore sworn;
sweep swept swept; swell swelled swollen/swelled; swim swam swum; swing swung swung;
take took taken; teach taught taught; tear tore torn; tell told told; think thought thought;
throw threw thrown; thrust thrust thrust; tread trod trodden; undergo underwent undergone;
understand understood understood; undertake undertook undertaken; undo undid undone;
upset upset upset; uphold upheld upheld; wake woke woken; wear wore worn; weave wove woven;
weep wept wept; win won won; wind wound wound; withdraw withdrew withdrawn;
withhold withheld withheld; withstand withstood withstood; wring wrung wrung;
write wrote written
";
