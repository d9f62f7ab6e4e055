package fhir

// What a transaction and a batch may touch, said in the 422 of a
// transaction that touches several persons and in the CapabilityStatement
// (rest.interaction.documentation).
const (
	// TransactionOnePerson is the reason of the 422 for a transaction
	// that touches more than one person's record, at its first entry of a
	// second person.
	TransactionOnePerson = "a transaction must touch one person's record (one Patient and the resources whose subject is that Patient): " +
		"it is applied all or nothing to that record, and atomicity across several persons' records is not supported. " +
		"To write many persons, send a batch Bundle (entries of different persons apply in parallel, each answered on its own) " +
		"or one transaction per person"

	// TransactionDoc documents the transaction interaction.
	TransactionDoc = "All or nothing, on one person's record only: every entry must belong to one Patient's compartment " +
		"(the Patient itself, or resources whose subject is that Patient). A transaction that touches a second person is " +
		"422 (OperationOutcome with the entry as expression) and stores nothing. POST (with ifNoneExist), PUT (also " +
		"conditional) and DELETE; a retry of the same Bundle (same identifier or bytes) replays the first answer."

	// BatchDoc documents the batch interaction.
	BatchDoc = "The way to write many persons at once: each entry succeeds or fails on its own, answered in order. " +
		"Entries of one person apply in Bundle order, different persons in parallel. POST, PUT (also conditional), " +
		"DELETE and GET Type/id."
)
