package extract

// taskVerbs are base-form verbs that open an action item ("call Ray",
// "send the draft"). Verbs of motion, feeling and thought ("go", "see",
// "hope", "remember") are left out on purpose: after "I'm going to" they
// describe a plan for the day, not a task.
const taskVerbs = `
add adjust announce answer apply approve archive arrange ask assign attach audit automate back backup batch bill block book borrow bring budget build bump buy calculate call cancel chase change charge check circle clean clear close collect compile complete configure confirm contact convert copy count cover create cut debug decide delegate delete deliver deploy design dig discuss document double-check download draft drop email e-mail empty enter escalate estimate explain export feed figure file fill finalize find finish fix flag follow forward gather get give grade grease hand handle have hire hold install interview invite invoice label lead lend line list load lock log look lower mail make mark measure meet mention merge message migrate mop move mow negotiate note notify order organize outline own pack pair patch pay phone pick pin ping plan plant polish post postpone practice prep prepare present price print prioritize proofread publish pull push put raise read reach rebook record redo reduce refactor refill refund register rehearse release remind remove renew rent reorder repair replace reply report request research reschedule reserve reset resolve respond restock restore return review revise rewrite rotate run schedule sell send set share ship shorten sign sit sort split start stock submit summarize swap sweep sync take talk teach tell test text tidy track trade train transfer triage tweak unload update upgrade upload verify wash water weigh wrap write
`

// progressiveTaskVerbs maps the "-ing" forms of rescheduling verbs, which
// state a decision in "I'm pushing the lab to Monday".
var progressiveTaskVerbs = map[string]string{
	"pushing": "push", "moving": "move", "rescheduling": "reschedule",
	"bumping": "bump", "postponing": "postpone", "shifting": "shift",
}

// verbParticles may follow a verb before its object ("put in a ticket",
// "write down the doses").
const verbParticles = `up out down in back over off on through away around`

// pronounObjects make an item without a referent ("fix that", "send this
// to Tamsin"); such items are dropped.
const pronounObjects = `it that this them those these him her me us you everything something anything stuff things there here`

// fillerWords are dropped wherever they occur in an action item.
const fillerWords = `um umm uh uhh uhm erm er hmm hm mm ah oh eh actually basically honestly literally really just totally kinda sorta probably definitely seriously`

// softFillers are dropped when a comma or the clause edge surrounds them,
// where they carry no meaning ("okay, so", ", like,", "well,").
const softFillers = `like okay ok alright well right so anyway yeah yes`

// ordinalWords number the items of a spoken list ("One, send Denise ...").
const ordinalWords = `one two three four five six seven eight nine ten first second third fourth fifth sixth seventh eighth ninth tenth firstly secondly thirdly lastly finally`

// listConnectors open a list segment without adding meaning.
const listConnectors = `and then also plus or but`

// clauseCutters end an action item: what follows is a reason or an aside.
const clauseCutters = `because cause 'cause so which but instead otherwise unless although though whereas`

// subjectWords open a new clause; a segment starting with one is an aside
// ("Priya asked for Wednesday"), not part of the item.
const subjectWords = `i i'm i've i'd he she they we you it's that's there's he's she's they're we're which who`

// headerWords name a spoken list of tasks.
var headerPhrases = [][]string{
	{"action", "items"}, {"action", "item"}, {"to", "do"}, {"to-do"}, {"todo"}, {"todos"}, {"to-dos"},
	{"next", "steps"}, {"next", "step"}, {"follow-ups"}, {"follow", "ups"}, {"takeaways"},
}

// colonHeaderWords name a list of tasks only when a colon follows
// ("tomorrow: call the co-op", "plan: finish the draft").
const colonHeaderWords = `plan tomorrow today tonight decisions decision tasks reminders priorities agenda`
