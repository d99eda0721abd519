package reply

import (
	"strings"

	"golang.org/x/net/html"
)

// htmlText turns an HTML body into lines of text: block elements end a
// line, <blockquote> and the quote containers of Gmail, Thunderbird and
// Outlook are left out (they hold the original), as are style, script and
// head. Outlook's <hr> before the original's header block ends the text.
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skipTag, depth := "", 0 // the element whose content is being dropped, and its nesting
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skipTag == "" {
				t := html.UnescapeString(string(z.Raw()))
				b.WriteString(strings.Join(strings.Fields(t), " "))
				if strings.TrimRight(t, " \t\r\n") != t {
					b.WriteString(" ")
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if skipTag != "" {
				if tag == skipTag && tt == html.StartTagToken {
					depth++
				}
				continue
			}
			drop := tag == "blockquote" || tag == "style" || tag == "script" || tag == "head" || tag == "title"
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				val := strings.ToLower(string(v))
				switch string(k) {
				case "class":
					drop = drop || strings.Contains(val, "gmail_quote") || strings.Contains(val, "moz-cite-prefix") || strings.Contains(val, "yahoo_quoted")
				case "id":
					// Outlook puts the original after its reply header,
					// unquoted: nothing below is the recipient's.
					if strings.Contains(val, "divrplyfwdmsg") || strings.Contains(val, "mail-editor-reference-message-container") {
						return b.String()
					}
				}
			}
			if block[tag] {
				b.WriteString("\n")
			}
			if drop && tt == html.StartTagToken && !void[tag] {
				skipTag, depth = tag, 1
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if skipTag != "" {
				if tag == skipTag {
					if depth--; depth == 0 {
						skipTag = ""
					}
				}
				continue
			}
			if block[tag] {
				b.WriteString("\n")
			}
		}
	}
}

var block = map[string]bool{
	"p": true, "div": true, "br": true, "tr": true, "li": true, "ul": true, "ol": true, "table": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "pre": true, "body": true,
}

var void = map[string]bool{"br": true, "hr": true, "img": true, "meta": true, "link": true, "input": true, "col": true, "wbr": true}
