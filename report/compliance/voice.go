package compliance

import (
	"cmp"
	"slices"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
)

// Voice is the voice quality of the window's calls: how many fall in each
// band of ITU-T G.107 Annex B's user satisfaction, and the worst calls.
type Voice struct {
	Rated int64   `json:"rated_calls"`
	Bands []Count `json:"mos_bands"` // best band first
	Poor  int64   `json:"poor_calls"`
	// Worst are the lowest-rated calls, worst first.
	Worst []VoiceCall `json:"worst_calls"`
}

// VoiceCall is one rated call.
type VoiceCall struct {
	CallID  string    `json:"call_id"`
	Site    string    `json:"site"`
	Start   time.Time `json:"start"`
	Codecs  string    `json:"codecs"`
	MOS     float64   `json:"mos"`
	RFactor float64   `json:"r_factor"`
	// LossPercent is the worst direction's loss; WorstMOS the worst 10 s.
	LossPercent float64 `json:"loss_pct"`
	WorstMOS    float64 `json:"worst_10s_mos"`
	Poor        bool    `json:"poor"`
}

// mosBands are G.107 Annex B's user satisfaction bands by their lower MOS
// bound (R 90, 80, 70, 60, 50 and below).
var mosBands = []struct {
	min  float64
	name string
}{
	{4.34, "very satisfied (MOS 4.34+)"},
	{4.03, "satisfied (4.03-4.34)"},
	{3.60, "some users dissatisfied (3.60-4.03)"},
	{3.10, "many users dissatisfied (3.10-3.60)"},
	{2.58, "nearly all users dissatisfied (2.58-3.10)"},
	{0, "not recommended (below 2.58)"},
}

func bandOf(mos float64) int {
	for i, b := range mosBands {
		if mos >= b.min {
			return i
		}
	}
	return len(mosBands) - 1
}

// addMOS counts one rated call.
func (c *callsAcc) addMOS(r *parquetout.CallRow, site string) {
	v := &c.voice
	v.Rated++
	if c.bands == nil {
		c.bands = make([]int64, len(mosBands))
	}
	c.bands[bandOf(*r.MOS)]++
	call := VoiceCall{CallID: r.CallID, Site: site, Start: r.Start, Codecs: r.Codecs, MOS: *r.MOS}
	if r.RFactor != nil {
		call.RFactor = *r.RFactor
	}
	for i := range r.Media {
		m := &r.Media[i]
		call.Poor = call.Poor || m.PoorQuality
		for _, q := range []*parquetout.CallQualityRow{m.CallerToCallee, m.CalleeToCaller} {
			if q == nil {
				continue
			}
			call.LossPercent = max(call.LossPercent, q.LossPercent)
			if call.WorstMOS == 0 || q.WorstMOS < call.WorstMOS {
				call.WorstMOS = q.WorstMOS
			}
		}
	}
	if call.Poor {
		v.Poor++
	}
	// Keep the worst maxDistinct calls; finishVoice orders and trims.
	v.Worst = append(v.Worst, call)
	if len(v.Worst) > 2*maxDistinct {
		sortWorst(v.Worst)
		v.Worst = v.Worst[:maxDistinct]
	}
}

func sortWorst(calls []VoiceCall) {
	slices.SortFunc(calls, func(a, b VoiceCall) int {
		return cmp.Or(cmp.Compare(a.MOS, b.MOS), a.Start.Compare(b.Start), cmp.Compare(a.CallID, b.CallID))
	})
}

// finishVoice orders the bands and keeps the top worst calls.
func (c *callsAcc) finishVoice(top int) *Voice {
	v := c.voice
	if v.Rated == 0 {
		return nil
	}
	for i, b := range mosBands {
		v.Bands = append(v.Bands, Count{Name: b.name, Count: c.bands[i]})
	}
	v.Worst = slices.Clone(v.Worst)
	sortWorst(v.Worst)
	if len(v.Worst) > top {
		v.Worst = v.Worst[:top]
	}
	return &v
}
