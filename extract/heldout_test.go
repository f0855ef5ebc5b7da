package extract_test

import (
	"slices"
	"testing"

	"github.com/whispersync/whispersync/extract"
)

// heldOutMemos are transcripts written apart from the development corpus,
// in the style of phone speech-to-text, with the people a reader would
// list. Pets called by name count as people: a search for "Ruby" should
// find the memo about the dog Ruby.
var heldOutMemos = []struct {
	name   string
	text   string
	people []string
}{
	{"bakery-order", "ok so the wedding cake order is confirmed. I need to send the invoice to Wilhelmina tonight and remind the driver about the Saturday slot.", []string{"Wilhelmina"}},
	{"room-booking", "Marta said the room was booked for Thursday but nobody told the caterers. I'll sort it out tomorrow.", []string{"Marta"}},
	{"inverted-speech", "The funding came through, said Omar, and he wants the paperwork done this week.", []string{"Omar"}},
	{"friend-lunch", "had lunch with my friend Lior today at the noodle place, he's moving to a new flat next month.", []string{"Lior"}},
	{"dog-park", "Took the dog to the park this morning and Ruby met her best friend, a huge poodle, they ran in circles for ages.", []string{"Ruby"}},
	{"care-home", "Visited Grandpa Walter at the care home. He talked about the flood again and how he rowed the neighbors' goat to safety.", []string{"Walter"}},
	{"plumber", "the plumber came finally. I have to give the spare key to Anselm before Friday and email Yolanda the receipt.", []string{"Anselm", "Yolanda"}},
	{"colleague-leave", "quick note, my colleague Teodora is on leave from Monday, so text Björn about the handover and ask him to cover the Tuesday shift.", []string{"Teodora", "Björn"}},
	{"lowercase-speech", "so the landlord called and the heating is fixed said omar when i got home. i told priya we can move the dinner back to our place", []string{"omar", "priya"}},
	{"neighbor-fence", "my neighbor Casimir finally agreed to split the cost of the fence. Ingrid thinks we should get three quotes first.", []string{"Casimir", "Ingrid"}},
	{"school-pickup", "Reminder for me, pick up Noor from swim practice at five, and call Mrs. Abernathy about the field trip form.", []string{"Noor", "Abernathy"}},
	{"boss-feedback", "My boss Evander wants the slides by noon. Then Precious from legal will review the contract clauses.", []string{"Evander", "Precious"}},
	{"cat-vet", "Biscuit threw up twice today so I took her to the vet. Doctor Halvorsen said it's probably just a hairball.", []string{"Biscuit", "Halvorsen"}},
	{"restaurant-shift", "Slammed tonight at the restaurant. Ximena covered the bar, I need to tell Desmond the walk-in freezer is making that noise again.", []string{"Ximena", "Desmond"}},
	{"family-call", "Called Mom, she says Auntie Folasade is coming in June for the naming ceremony. Dad wants us all to pick her up at the airport.", []string{"Folasade"}},
	{"garden-club", "The garden club met at Rosalind's house. Everyone loved her tomatoes. I promised to forward the seed list to Gwendolyn.", []string{"Rosalind", "Gwendolyn"}},
	{"teacher-notes", "parent teacher night went fine. Kofi's mom asked about reading groups and I said I'd email her the book list. Need to update the grades for period three.", []string{"Kofi"}},
	{"no-people", "Long run by the river this morning, eight miles, legs are done. The weather was perfect, cold and bright.", []string{}},
	{"project-status", "The migration is done. Jira is updated. Ask Radhika to review the rollback plan and ping Thorsten about the staging database.", []string{"Radhika", "Thorsten"}},
	{"book-club", "book club tonight at Sunniva's place, we finally finished the Murakami novel. Octavia hated the ending, said Ines, which started a whole debate.", []string{"Sunniva", "Octavia", "Ines"}},
	{"farm-day", "helped my cousin Eamon with the hay bales out in Fernhill. His wife Saoirse made soup for everyone after.", []string{"Eamon", "Saoirse"}},
	{"moving-day", "Moving day tomorrow. Hand the old keys to the landlord and text Zubair the new address so he can bring the van.", []string{"Zubair"}},
	{"lowercase-friend", "went climbing with my friend tobias and his sister marisol, then we got tacos. marisol wants to come again next week", []string{"tobias", "marisol"}},
	{"places-not-people", "Drove through Millbrook on the way to Lake Oswin. We stopped at the Old Mill Bakery for coffee.", []string{}},
	{"sports-coach", "Coach Adeyemi moved practice to six. Tell Jolene the bus leaves from the east lot, and email the team roster to Mr. Vukovic.", []string{"Adeyemi", "Jolene", "Vukovic"}},
	{"grief", "It's been a year since Nana Philippa passed. We lit a candle and Uncle Rashad told the story about her garden.", []string{"Philippa", "Rashad"}},
}

// TestPeopleHeldOut measures People on memos outside the development
// corpus, so that rules tuned on the corpus are checked on fresh text.
func TestPeopleHeldOut(t *testing.T) {
	var truePos, predicted, labelled int
	for _, m := range heldOutMemos {
		got := extract.People(m.text)
		predicted += len(got)
		labelled += len(m.people)
		for _, name := range got {
			if slices.Contains(m.people, name) {
				truePos++
			} else {
				t.Logf("%s: extra person %q", m.name, name)
			}
		}
		for _, name := range m.people {
			if !slices.Contains(got, name) {
				t.Logf("%s: missed person %q", m.name, name)
			}
		}
	}
	precision := float64(truePos) / float64(max(predicted, 1))
	recall := float64(truePos) / float64(max(labelled, 1))
	t.Logf("held-out people: precision %.3f, recall %.3f (%d predicted, %d labelled)", precision, recall, predicted, labelled)
	if precision < 0.85 || recall < 0.85 {
		t.Errorf("held-out people: got precision %.3f and recall %.3f, want both >= 0.85", precision, recall)
	}
}

// TestPeopleNotCued checks that the cues for names do not fire on words
// that only stand where a name could.
func TestPeopleNotCued(t *testing.T) {
	for _, text := range []string{
		"Returned to Kettering after lunch.",
		"Talk to Finance about the invoice.",
		"Yesterday saw a big storm roll in.",
		"Both met at noon by the fountain.",
		"my neighbor upstairs is loud again",
		"my friend group is planning a trip",
		"Ruby is a great language for scripts.",
		"I wrote the importer in Ruby.",
		"The report is due, said the manager.",
		"Send the package to Portland.",
	} {
		if got := extract.People(text); len(got) > 0 {
			t.Errorf("People(%q): got %q, want none", text, got)
		}
	}
}

// TestThemesHeldOut checks themes on memos outside the development corpus.
func TestThemesHeldOut(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Visited Grandpa Walter at the care home today. He told the story about the flood of sixty-two again, the one where he rowed the neighbors' goat to safety.", []string{"family", "home", "nature"}},
		{"Took the dog on the long loop and Ruby met her best friend from the park.", []string{"pets", "friends"}},
		{"It's been a year since Nana Philippa passed. We lit a candle at the cemetery.", []string{"family", "loss"}},
		{"the standup ran long and the release is slipping because QA found a bug", []string{"work"}},
	}
	for _, tt := range tests {
		got := extract.Themes(tt.text)
		for _, want := range tt.want {
			if !slices.Contains(got, want) {
				t.Errorf("Themes(%q): got %q, want %q among them", tt.text, got, want)
			}
		}
	}
}
