package catalog

import (
	"slices"
	"strings"
)

// didYouMean returns `; did you mean "x"?` naming the candidates closest to
// name (by edit distance, at most 2 or a third of its length, or sharing its
// role part after a vendor prefix), or "" when none is close.
func didYouMean(name string, candidates []string) string {
	near := nearNames(name, candidates)
	if len(near) == 0 {
		return ""
	}
	q := make([]string, len(near))
	for i, n := range near {
		q[i] = `"` + n + `"`
	}
	return "; did you mean " + strings.Join(q, " or ") + "?"
}

// nearNames returns the candidates closest to name, sorted, at most three.
func nearNames(name string, candidates []string) []string {
	_, bare := SplitRole(name)
	best := -1
	var out []string
	for _, c := range candidates {
		if c == name {
			continue
		}
		_, cb := SplitRole(c)
		dist := editDistance(name, c)
		if cb == bare {
			dist = 0
		} else if d := editDistance(bare, cb); d < dist {
			dist = d
		}
		if dist > max(2, len(bare)/3) {
			continue
		}
		switch {
		case best < 0 || dist < best:
			best, out = dist, []string{c}
		case dist == best:
			out = append(out, c)
		}
	}
	slices.Sort(out)
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
