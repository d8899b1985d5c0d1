package testnet

import "testing"

// FuzzParseMeta: testnet.json is read from disk and may be anything;
// ParseMeta must reject what it cannot use without panicking, and what it
// accepts must keep every path inside the testnet directory.
func FuzzParseMeta(f *testing.F) {
	f.Add([]byte(`{"version":1,"chain_id":"c","consensus":"pbft","backend":"goleveldb","base_port":0,"binary":"",
		"nodes":[{"index":0,"name":"node0","home":"node0","p2p_addr":"/ip4/127.0.0.1/tcp/1","api_url":"http://127.0.0.1:2","byzantine":""}],"accounts":["accounts/account0.json"]}`))
	f.Add([]byte(`{"version":1,"nodes":[{"home":"../x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMeta(b)
		if err != nil {
			return
		}
		for _, n := range m.Nodes {
			if relPath(n.Home) != nil {
				t.Fatalf("accepted home %q", n.Home)
			}
		}
		for _, a := range m.Accounts {
			if relPath(a) != nil {
				t.Fatalf("accepted account path %q", a)
			}
		}
	})
}
