package growth

// Round2 rounds x to 2 decimals exactly as R 4.x's round(x, 2) does.
// NaN and ±Inf are returned unchanged.
func Round2(x float64) float64 {
	return x // TODO
}
