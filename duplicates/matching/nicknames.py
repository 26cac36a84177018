"""Given-name equivalence groups: English nicknames, European diminutives, transliterations.

A person referred as "Bill" by one agency and "William" by another is one person; string
similarity cannot see that, so the matcher looks names up here. A name may belong to
several groups ("Chris" is short for Christopher and for Christine); two names are
equivalent when they share a group. Groups are deliberately conservative: each one lists
forms that are in common use for the same formal name.
"""

from __future__ import annotations

from functools import lru_cache

from .normalise import normalise_name

__all__ = ["GROUPS", "KNOWN", "is_known", "name_groups", "same_group"]

# Each line: the canonical (formal) form first, then its variants.
_ENGLISH = """
william bill billy will willy willie liam wills
robert bob bobby rob robbie robby bert
elizabeth liz lizzie lizzy beth betty bette eliza elisa elise libby lisa bess bessie
catherine kate katie kathy cath cathy kath kathryn katherine kathleen kay kitty kat katy
james jim jimmy jamie jimbo
anthony tony ant anton
david dave davy davie
michael mike mikey mick micky mickey mikhail
stephen steve stevie steven stephan stefan
thomas tom tommy thom
daniel dan danny
christopher chris kit topher
christine chris chrissie chrissy christina kirsty kirsten tina
matthew matt matty mat
nicholas nick nicky nico nic
samuel sam sammy
samantha sam sammie sammy
alexander alex alec alick sandy xander sasha alexandr aleksander aleksandr oleksandr
alexandra alex alexa lexi sandra sasha aleksandra
john jon jonny johnny jack jock
sean shaun shawn shane
jonathan jon jonny jonty nathan
henry harry hal hank
edward ted teddy ed eddie eddy ned
edwin ed eddie
edmund ed eddie ted ned
margaret peggy maggie meg marge margie madge greta rita
susan sue susie suzy suzanne susanna
jennifer jen jenny jenna
richard rich rick ricky dick dicky richie
charles charlie chas chuck chaz
joseph joe joey jo
josephine jo josie jojo
joanne jo joanna jo-anne
patrick pat paddy
patricia pat patsy trish tricia
peter pete
andrew andy drew
benjamin ben benny benji
frederick fred freddie freddy
gerald gerry jerry ged
geoffrey geoff jeff jeffrey
gregory greg
kenneth ken kenny
lawrence larry laurie lawrie
leonard len lenny leo
ronald ron ronnie
donald don donnie
douglas doug dougie
raymond ray
philip phil pip phillip
timothy tim timmy
terence terry
vincent vince vinny
zachary zach zack zak
nathaniel nat nathan nate
oliver olly ollie
alfred alf alfie fred
albert bert bertie al
arthur art artie
archibald archie
walter walt wally
francis frank frankie fran
frances fran frankie fanny
gareth gaz gary
barry baz
darren daz
sharon shaz
bradley brad
callum cal
cameron cam
jacob jake jakey
joshua josh
nicola nicky nikki nic
victoria vicky vikki tori
rebecca becky becca
deborah debbie debs deb
jessica jess jessie
amanda mandy
abigail abbie abby gail
alison ali allie
alice ally allie
amelia amy millie
emily em emmy millie
emma em emmie
eleanor ellie nell nellie nora elle
helen nell nellie ellen
jacqueline jackie jacqui
jane jenny janey
janet jan jenny
judith judy jude
kimberley kim kimberly
lucy lou
louise lou lou-lou lulu
mary molly polly mae maria marie
pamela pam
penelope penny
rosemary rose rosie
sarah sara sally sadie
teresa tess tessa terri theresa
valerie val
veronica ronnie vera
wendy gwendolyn gwen
christian chris
dorothy dot dottie dolly
ann anne annie anna nan nancy
caroline carol carrie caz
natalie nat
natasha tasha nat
gabriel gabe gabby
gabriella gabby ella
isabel izzy bella isabelle isobel isabella
kieran kez
mohammed mo
stanley stan
sidney sid sydney
sebastian seb
toby tobias
luke lucas
lewis louis lou
harold harry hal
howard howie
jeremy jerry
dominic dom
"""

# Polish, Ukrainian/Russian and other European diminutives and national forms.
_EUROPEAN = """
katarzyna kasia kaska kasienka kate catherine
malgorzata gosia malgosia goska margaret
barbara basia baska babs barbie
tomasz tomek thomas
jakub kuba jakob jacob
aleksander olek aleksandr alexander
aleksandra ola olenka alexandra
agnieszka aga agusia
anna ania anka ann
joanna asia joasia
magdalena magda madzia
wojciech wojtek
krzysztof krzys christopher
grzegorz grzes gregory
piotr piotrek peter
pawel pawelek paul
michal michael
lukasz luke
mateusz mateus matthew
marcin marcinek
przemyslaw przemek
stanislaw stas stan
zbigniew zbyszek
jozef jozek joseph
janusz janek jan john
ewa ewka eve
dorota dorotka dorothy
elzbieta ela elka elizabeth
monika monia
marta martusia martha
justyna justa
zofia zosia sophie
ivan vanya john
dmitri dmitry dima
vladimir vlad volodymyr volodya
yekaterina ekaterina katya katerina catherine
nikolai nikolay kolya nicholas
yevgeny evgeny evgeniy zhenya
tatiana tatyana tanya
natalia natalya natasha
sergei sergey serhiy seryozha
andrei andrey andriy andrew
olga olya
giuseppe beppe joseph
francesco franco
giovanni gianni john
jose pepe joseph
francisco paco pancho
"""

# Transliteration variants of the same name (not nicknames).
_TRANSLITERATION = """
mohammed muhammad mohamed mohammad muhammed mohamad mohamud mohammod muhamed mohd muhammet
ahmed ahmad ahmet ahmud
yusuf yousef youssef yousuf yusef yosef josef
abdul abdel abdal abdoul
abdullah abdallah abdulla
ali aly
hussein husain hussain husein hosein
hassan hasan
omar umar omer
osman usman uthman othman
ibrahim ebrahim ibraheem
ismail ismael esmail
khalid khaled
mustafa mustapha moustafa mostafa
mahmoud mahmood mahmud
fatima fatimah fatma
aisha ayesha aysha aishah
mariam maryam miriam
zainab zaynab zeinab
rashid rasheed
hamid hameed
tariq tarek tarik
karim kareem
nasir naseer nasser
abdulrahman abdurrahman abdelrahman
yasmin yasmine jasmine
suleiman sulaiman suleyman
aleksandr alexander aleksander alexandr oleksandr
aleksei alexei alexey oleksiy
yuri yury yuriy iurii
mikhail mihail mykhailo
sergei sergey serhii serhiy
dmitri dmitry dmytro
vladimir volodymyr
anastasia anastasiya
yulia yuliya julia iuliia
oksana oxana
pyotr petr petro
gurpreet gurprit
mandeep mandip
harpreet harprit
sandeep sandip
pradeep pradip
siobhan shevaun chevonne
sinead shinade
niamh neve neave
"""

# Spellings of one name in common use in the UK.
_SPELLINGS = """
connor conor konnor
aidan aiden aden
reece rhys reese
zoe zoey
claire clare
tracey tracy
stacey stacy stacie
kerry kerri kerrie
leanne lianne leann
jade jayde
kelly kelli
megan meghan
hannah hanna
isla islay
ryan rian
dwayne duane
jermaine germaine
lewis louis
carl karl
callum calum kallum
jayden jaden jaydon
phillip philip filip
geoffrey jeffrey jeffery
"""

# Given names common in UK records. Two *different* names from this list (or from the
# groups above) are two names, however alike they look or sound (Leo and Lee, Darren and
# Tyrone): one letter apart is a typo only where one of the two is not a known name.
_COMMON = """
aaron abdul abigail adam adrian ahmed aisha alan albert alfie ali alice alison amanda amber amelia amir amy
andrea angela anna anne annie archie arthur ashley ava barry ben bethany billy bradley brandon brian
bruce callum cameron carl carla carol caroline carrie charlie charlotte chelsea chloe christian ciaran
clive colin courtney craig dale damien darren dean debbie declan denise dennis derek diane dominic donna
douglas duncan dylan eddie eileen ella ellie emily emma eric erin ethan evie faye fiona frank freddie
gail gareth gary gavin gemma george gerald gillian glen gordon grace graham grant hamza harley harrison
harvey hayley heather helen holly ian imran isaac isabel isla ivy jack jacqueline jade jake jamal jane
janet jared jason jay jayden jean jemma jenna jermaine jessica jill joanne joel jordan josh joyce julie
justin kai karen karl kayleigh keith kelly kerry kevin kieran kim kirsty kwame kofi kyle lacey laura
lauren leah lee leo leon lesley lewis liam lily linda lindsey lisa lola lorna lorraine louise lucy
luke lynn mandy marcus maria marie mark martin mason matilda maureen max maya megan melanie mia
michelle mohammed molly morgan nadia naomi nathan neil niall nicola noah oliver olivia omar oscar owen
paige pamela paula paul phoebe poppy rachel raymond rebecca reece rhys ricky riley robyn rosie ross
roy ruby ryan sadie sally sandra sara sarah scarlett scott shannon sharon shaun sheila sophie stacey
stuart summer tanya tara terry theo tina toby tracey trevor tyler tyrone usman vanessa wayne zara zoe
chantelle danielle jacob jakub lola marcin oskar simon stephen grace kate tony dean darren lucy lisa
"""


def _build() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for block in (_ENGLISH, _EUROPEAN, _TRANSLITERATION, _SPELLINGS):
        for line in block.strip().splitlines():
            words = [normalise_name(w) for w in line.split()]
            gid = words[0]
            for w in words:
                groups.setdefault(w, set()).add(gid)
    return {k: frozenset(v) for k, v in groups.items()}


GROUPS: dict[str, frozenset[str]] = _build()
"""Normalised given name -> the ids (canonical formal names) of the groups it belongs to."""


KNOWN: frozenset[str] = frozenset(GROUPS) | frozenset(normalise_name(w) for w in _COMMON.split())
"""Normalised given names known to be names (in a group or in the common list)."""


def is_known(name: str) -> bool:
    """Is the (normalised, first-word) given name a known name?"""
    return name in KNOWN or name.replace("-", "") in KNOWN


@lru_cache(maxsize=131_072)
def name_groups(name: str | None) -> frozenset[str]:
    """Group ids of the first word of a given name; empty if the name is in no group."""
    n = normalise_name(name)
    if not n:
        return frozenset()
    first = n.split(" ")[0]
    return GROUPS.get(first) or GROUPS.get(first.replace("-", ""), frozenset())


def same_group(a: str | None, b: str | None) -> bool:
    """True when two given names are known nicknames/variants of one another."""
    return bool(name_groups(a) & name_groups(b))
