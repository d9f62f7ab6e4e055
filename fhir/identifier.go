package fhir

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// identifierDashes are the Unicode hyphens and dashes that an identifier
// typed on another keyboard, or pasted from a document, may carry for '-'.
const identifierDashes = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uFE58\uFE63\uFF0D"

// NormalizeIdentifier returns the form of an identifier value that
// uniqueness checks and searches compare, so one document number typed in
// different ways finds one person: compatibility-width forms folded
// (full-width "ＵＮＩ" -> "UNI"), Unicode NFC (a decomposed "é" is the
// precomposed one), zero-width and other invisible format characters
// removed, Unicode hyphens and dashes as '-', surrounding space trimmed.
// Case is kept: identifiers are case-sensitive. The stored resource keeps
// the value as sent.
func NormalizeIdentifier(s string) string {
	if isASCII(s) {
		return strings.TrimSpace(s)
	}
	s = norm.NFC.String(width.Fold.String(s))
	s = strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune(identifierDashes, r):
			return '-'
		case unicode.Is(unicode.Cf, r): // zero-width space/joiners, BOM, soft hyphen
			return -1
		}
		return r
	}, s)
	return strings.TrimFunc(s, unicode.IsSpace)
}
