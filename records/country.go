package records

import "fmt"

// Country is an ISO 3166-1 alpha-2 code in upper case, e.g. "CO".
type Country string

// ParseCountry accepts a two-letter code in either case.
func ParseCountry(s string) (Country, error) {
	if len(s) != 2 {
		return "", &FieldError{Field: "country", Reason: fmt.Sprintf("want a two-letter ISO 3166-1 code, got %d characters", len(s))}
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			return "", &FieldError{Field: "country", Reason: "want a two-letter ISO 3166-1 code (letters only)"}
		}
	}
	return Country(b), nil
}
