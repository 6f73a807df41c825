"""A corpus of hostile text (issue 12): HTML, attributes, URLs, Markdown, SVG, templates, encoding
tricks and script contexts. Each payload starts with its marker ``Pnnn`` so a page can be checked
for both: no script ran, and the text is still there to read."""
from __future__ import annotations

HTML = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">clic</a>",
    "<form action=javascript:alert(1)><button>invia</button></form>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<style>@import 'javascript:alert(1)';</style>",
    "<template><script>alert(1)</script></template>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<keygen autofocus onfocus=alert(1)>",
    "<isindex type=image src=1 onerror=alert(1)>",
]
ATTRIBUTE = [
    "\" onmouseover=\"alert(1)",
    "' autofocus onfocus='alert(1)",
    "\"><script>alert(1)</script>",
    "'><svg onload=alert(1)>",
    "`onmouseover=alert(1)`",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "--><script>alert(1)</script>",
    "]]><script>alert(1)</script>",
    "\" autofocus onfocus=alert(1) x=\"",
    "data-x=\"\" onclick=\"alert(1)\"",
]
URL = [
    "[clic](javascript:alert(1))",
    "[clic](JaVaScRiPt:alert(1))",
    "[clic](java&#x73;cript:alert(1))",
    "[clic](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[clic](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "[clic](  javascript:alert(1))",
    "[clic](javascript&colon;alert(1))",
    "[clic](jav\tascript:alert(1))",
    "![img](javascript:alert(1))",
    "[ref]: javascript:alert(1)\n\n[clic][ref]",
    "<https://example.org/\"onmouseover=\"alert(1)>",
    "[clic](https://example.org \"titolo\\\" onmouseover=alert(1)\")",
    "[clic](//evil.example/%0aalert(1))",
]
MARKDOWN = [
    "**<img src=x onerror=alert(1)>**",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |",
    "> <script>alert(1)</script>",
    "# <svg onload=alert(1)>",
    "- [clic](javascript:alert(1))",
    "[<img src=x onerror=alert(1)>](https://example.org)",
    "_<b onmouseover=alert(1)>x</b>_",
    "<div>\n<script>alert(1)</script>\n</div>",
    "    <script>alert(1)</script>",
    "~~~\n</code></pre><script>alert(1)</script>\n~~~",
    "*[x](javascript:alert(1))*",
    "1. <iframe srcdoc=\"<script>alert(1)</script>\">",
]
SVG = [
    "<svg><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text x=20 y=20>x</text></a></svg>",
    "<svg><use href=\"data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='1' "
    "onerror='alert(1)' /></svg>#x\"/>",
    "<svg/onload=alert(1)>",
    "<svg><foreignObject><iframe srcdoc=\"<script>alert(1)</script>\"></iframe></foreignObject></svg>",
    "<svg><set attributeName=onmouseover to=alert(1)>",
    "<svg><handler xmlns:ev=\"http://www.w3.org/2001/xml-events\" ev:event=\"load\">alert(1)</handler></svg>",
]
TEMPLATE = [
    "{{ 7*7 }}",
    "{{constructor.constructor('alert(1)')()}}",
    "${alert(1)}",
    "{% raw %}{{ config }}{% endraw %}",
    "<%= 7*7 %>",
    "#{alert(1)}",
    "{{'a'.constructor.prototype.charAt=[].join;$eval('x=alert(1)');}}",
    "[[${7*7}]]",
    "{{ self.__init__.__globals__ }}",
    "<div v-html=\"'<img src=x onerror=alert(1)>'\"></div>",
]
ENCODING = [
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "＜script＞alert(1)＜/script＞",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script type=\"text/javascript\">alert(1)</script>",
    "<img src=\"x\" onerror=\"&#97;&#108;&#101;&#114;&#116;(1)\">",
    "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    "<img src=x onerror=\\u0061lert(1)>",
    "<scr\u200bipt>alert(1)</scr\u200bipt>",
    "\u202e>tpircs/<)1(trela>tpircs<",
    "<<script>alert(1)//<</script>",
    "<img/src/onerror=alert(1)>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>",
    "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
]
SCRIPT_CONTEXT = [
    "'-alert(1)-'",
    "\";alert(1)//",
    "\\\";alert(1)//",
    "</style><script>alert(1)</script>",
    "\u2028alert(1)\u2029",
    "{\"__proto__\": {\"innerHTML\": \"<img src=x onerror=alert(1)>\"}}",
    "javascript:/*--></title></style></textarea></script></xmp><svg/onload='+/\"/+/onmouseover=1/+/[*/[]/+alert(1)//'>",
    "<xmp><script>alert(1)</script></xmp>",
]

VECTORS = HTML + ATTRIBUTE + URL + MARKDOWN + SVG + TEMPLATE + ENCODING + SCRIPT_CONTEXT
PAYLOADS = [f"P{n:03d} {vector}" for n, vector in enumerate(VECTORS, start=1)]
MARKERS = [f"P{n:03d}" for n in range(1, len(PAYLOADS) + 1)]
assert len(PAYLOADS) >= 100, len(PAYLOADS)
