package federation

// Rules that decide a grade whatever the weight says: the model takes the
// fields as independent, but siblings share the surnames, the mother and
// often the birthplace, so together those say "same family", not "same
// person".
const (
	// ruleTwins: the same full birth date and the same mother (her name
	// agreeing, or one side's contained in the other's) but given names
	// that differ or only partly agree: two people, no grade.
	ruleTwins = "twins"
	// ruleSiblings: the same mother but given names that share no word,
	// or birth dates further apart than a typo, a swap or a week: two
	// children of one mother, no grade.
	ruleSiblings = "siblings"
	// ruleMother: mothers' names that share no word, not even by sound
	// or a typo: another child with the same name (a namesake) more often
	// than the same child; at most possible, for a health worker to judge.
	ruleMother = "mother"
)

// ruleOf returns the rule the agreement levels (field to level) fall
// under, or "".
func ruleOf(level map[string]string) string {
	sameMother := level["mother"] == "agree" || level["mother"] == "subset"
	given, date := level["given"], level["birthdate"]
	switch {
	case sameMother && date == "exact" && (given == "differ" || given == "partial"):
		return ruleTwins
	case sameMother && (given == "differ" || date == "differ" || date == "sameyear"):
		return ruleSiblings
	case level["mother"] == "differ":
		return ruleMother
	}
	return ""
}
