package mapping

// ControlView is one catalog entry in the `controls --format json` shape,
// which the HTTP API's /api/v1/controls returns too.
type ControlView struct {
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	Kind         string   `json:"kind"`
	Parent       string   `json:"parent,omitempty"`
	Objective    string   `json:"objective,omitempty"`
	Heading      bool     `json:"heading"`
	EvidenceHint string   `json:"evidence_hint"`
	Sources      []string `json:"sources"`
	Automatable  bool     `json:"automatable"`
	NISTAIRMF    []string `json:"nist_ai_rmf"`
	EUAIAct      []string `json:"eu_ai_act"`
	ISO27001     []string `json:"iso27001_2022"`
	Crosswalks   struct {
		NISTAIRMF string `json:"nist_ai_rmf"`
		EUAIAct   string `json:"eu_ai_act"`
		ISO27001  string `json:"iso27001_2022"`
	} `json:"crosswalk_basis"`
}

// View returns e in the ControlView shape.
func View(e Entry) ControlView {
	v := ControlView{ID: e.ID, Title: e.Title, Kind: e.Kind, Parent: e.Parent, Objective: e.Objective,
		Heading: e.Heading, EvidenceHint: e.EvidenceHint, Sources: nonNil(e.Sources), Automatable: e.Automatable,
		NISTAIRMF: nonNil(e.NISTAIRMF), EUAIAct: nonNil(e.EUAIAct), ISO27001: nonNil(e.ISO27001)}
	v.Crosswalks.NISTAIRMF, v.Crosswalks.EUAIAct, v.Crosswalks.ISO27001 = e.NISTAIRMFBasis, e.EUAIActBasis, e.ISO27001Basis
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
