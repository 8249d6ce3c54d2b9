// Package client is Weir's stand-in for github.com/Shopify/toxiproxy/client, which Debian does
// not ship (toxiproxy left Debian in 2019, #940453) and which sarama's functional tests import.
// It is not toxiproxy's code: it covers only what sarama 1.22.1's functional_*_test.go use
// (NewClient, Client.Proxies, Client.ResetState, Proxy.Enabled, Proxy.Save, Proxy.AddToxic,
// Attributes), speaking toxiproxy 2.1's HTTP API (GET /proxies, POST /reset, POST
// /proxies/{name}, POST /proxies/{name}/toxics, DELETE /proxies/{name}/toxics/{toxic}) to the
// stand-in server tests/broker/real/toxiproxy_standin.py. sarama_suite.py puts it in the
// suite's GOPATH as github.com/Shopify/toxiproxy/client.
package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client talks to one toxiproxy HTTP endpoint ("http://host:port").
type Client struct {
	endpoint string
}

// Attributes of a toxic ("latency": 10, ...).
type Attributes map[string]interface{}

// Toxic as toxiproxy describes it.
type Toxic struct {
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Stream     string     `json:"stream,omitempty"`
	Toxicity   float32    `json:"toxicity"`
	Attributes Attributes `json:"attributes"`
}

// Toxics of a proxy.
type Toxics []Toxic

// Proxy as toxiproxy describes it; Save sends Enabled, Listen and Upstream back.
type Proxy struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Enabled  bool   `json:"enabled"`

	ActiveToxics Toxics `json:"toxics"`

	client *Client
}

// NewClient for the toxiproxy at endpoint ("http://" is added when it has no scheme).
func NewClient(endpoint string) *Client {
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		endpoint = "http://" + endpoint
	}
	return &Client{endpoint: strings.TrimRight(endpoint, "/")}
}

func (c *Client) call(method, path string, body interface{}, want int, out interface{}) error {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.endpoint+path, in)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("toxiproxy: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Proxies by name.
func (c *Client) Proxies() (map[string]*Proxy, error) {
	proxies := map[string]*Proxy{}
	if err := c.call("GET", "/proxies", nil, http.StatusOK, &proxies); err != nil {
		return nil, err
	}
	for _, p := range proxies {
		p.client = c
	}
	return proxies, nil
}

// ResetState enables every proxy and removes every toxic.
func (c *Client) ResetState() error {
	return c.call("POST", "/reset", nil, http.StatusNoContent, nil)
}

// Save sends the proxy's Enabled, Listen and Upstream to the server.
func (p *Proxy) Save() error {
	body := map[string]interface{}{"enabled": p.Enabled, "listen": p.Listen, "upstream": p.Upstream}
	return p.client.call("POST", "/proxies/"+p.Name, body, http.StatusOK, p)
}

// AddToxic adds a toxic of typeName to stream ("upstream" or "downstream", "" is downstream);
// name "" is typeName_stream.
func (p *Proxy) AddToxic(name, typeName, stream string, toxicity float32, attrs Attributes) (*Toxic, error) {
	toxic := &Toxic{Name: name, Type: typeName, Stream: stream, Toxicity: toxicity, Attributes: attrs}
	out := &Toxic{}
	if err := p.client.call("POST", "/proxies/"+p.Name+"/toxics", toxic, http.StatusOK, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveToxic by name.
func (p *Proxy) RemoveToxic(name string) error {
	return p.client.call("DELETE", "/proxies/"+p.Name+"/toxics/"+name, nil, http.StatusNoContent, nil)
}
