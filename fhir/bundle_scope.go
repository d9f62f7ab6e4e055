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
		"(the Patient itself, or resources whose subject is that Patient). Transactions across several persons' records are " +
		"not supported: the store commits one person's record at a time and has no multi-record transactions, so it could " +
		"not apply them all or nothing. Such a transaction is 422 (OperationOutcome, code invalid, whose expression is the " +
		"first entry of a second person and whose diagnostics say to use a batch) and stores nothing; send a batch, or one " +
		"transaction per person. POST (with ifNoneExist), PUT (also conditional) and DELETE; a retry of the same Bundle " +
		"(same identifier or bytes) replays the first answer."

	// RestDoc is CapabilityStatement.rest.documentation: what a client
	// must know of the server's writes before it sends any.
	RestDoc = "FHIR R4 over JSON. Writes are per person: a person's record (the Patient and the resources whose subject " +
		"is that Patient) changes atomically, and a transaction Bundle may touch one person's record only; transactions " +
		"across persons are not supported (422), batch Bundles write many persons (each entry on its own). The nutrition " +
		"results derived from measurements (z-scores, conditions, alerts, episodes) are computed by the server: clients " +
		"cannot write them (alerts and episodes change through /alerts and /episodes)."

	// BatchDoc documents the batch interaction.
	BatchDoc = "The way to write many persons at once: each entry succeeds or fails on its own, answered in order. " +
		"Entries of one person apply in Bundle order, different persons in parallel. POST, PUT (also conditional), " +
		"DELETE and GET Type/id."
)
