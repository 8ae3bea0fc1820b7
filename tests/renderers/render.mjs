// Render TeX with the real renderers from the npm registry, one HTML fragment per formula and output mode.
//
//   node render.mjs < request.json > rendered.json
//
// request: {"items": [{"tex": "...", "display": true}, ...], "modes": ["katex", ...]}
// answer:  {"versions": {...}, "modes": {"katex": ["<span ...>", null, ...], ...}}
// null marks a formula the renderer refused (an unknown macro, say); the fixture builder drops such formulas
// from every mode, so all modes carry the same formulas.
//
// Used by tests/renderer_pages.py; see tests/renderers/README.md for what each mode stands for.

import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';

import katex from 'katex';
import temml from 'temml';

import {mathjax as mj3} from 'mathjax-full/js/mathjax.js';
import {TeX as TeX3} from 'mathjax-full/js/input/tex.js';
import {CHTML as CHTML3} from 'mathjax-full/js/output/chtml.js';
import {SVG as SVG3} from 'mathjax-full/js/output/svg.js';
import {liteAdaptor as liteAdaptor3} from 'mathjax-full/js/adaptors/liteAdaptor.js';
import {RegisterHTMLHandler as register3} from 'mathjax-full/js/handlers/html.js';
import {AssistiveMmlHandler as assistive3} from 'mathjax-full/js/a11y/assistive-mml.js';
import {AllPackages} from 'mathjax-full/js/input/tex/AllPackages.js';
import {STATE} from 'mathjax-full/js/core/MathItem.js';
import {SerializedMmlVisitor} from 'mathjax-full/js/core/MmlTree/SerializedMmlVisitor.js';

import {mathjax as mj4} from '@mathjax/src/js/mathjax.js';
import {TeX as TeX4} from '@mathjax/src/js/input/tex.js';
import {CHTML as CHTML4} from '@mathjax/src/js/output/chtml.js';
import {liteAdaptor as liteAdaptor4} from '@mathjax/src/js/adaptors/liteAdaptor.js';
import {RegisterHTMLHandler as register4} from '@mathjax/src/js/handlers/html.js';
import '@mathjax/src/js/input/tex/base/BaseConfiguration.js';
import '@mathjax/src/js/input/tex/ams/AmsConfiguration.js';
import '@mathjax/src/js/input/tex/newcommand/NewcommandConfiguration.js';
import '@mathjax/src/js/input/tex/boldsymbol/BoldsymbolConfiguration.js';
import {SVG as SVG4} from '@mathjax/src/js/output/svg.js';
import {MathJaxNewcmFont} from '@mathjax/mathjax-newcm-font/js/chtml.js';
import {MathJaxNewcmFont as MathJaxNewcmFontSVG} from '@mathjax/mathjax-newcm-font/js/svg.js';

const require = createRequire(import.meta.url);
const version = (name) => require(`${name}/package.json`).version;

const PACKAGES3 = AllPackages.filter((p) => !['bussproofs', 'autoload', 'require', 'setoptions', 'noundefined', 'noerrors'].includes(p));

// MathJax 3: one document per output mode; assistive MathML is MathJax's own a11y extension
const adaptor3 = liteAdaptor3();
const handler3 = register3(adaptor3);
assistive3(handler3);
function mj3doc(output, assistive) {
  return mj3.document('', {
    InputJax: new TeX3({packages: PACKAGES3, tags: 'ams'}),
    OutputJax: output,
    enableAssistiveMml: assistive,
  });
}
const docs3 = {
  chtml_mml: mj3doc(new CHTML3({fontURL: 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/output/chtml/fonts/woff-v2'}), true),
  chtml: mj3doc(new CHTML3({fontURL: 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/output/chtml/fonts/woff-v2'}), false),
  svg: mj3doc(new SVG3({fontCache: 'none'}), true),
  svg_plain: mj3doc(new SVG3({fontCache: 'none'}), false),
};
const mmlDoc3 = mj3.document('', {InputJax: new TeX3({packages: PACKAGES3, tags: 'all'})});
const serializer = new SerializedMmlVisitor();

// MathJax 4: CHTML, whose TeX input records each formula's source in data-latex attributes
const adaptor4 = liteAdaptor4();
register4(adaptor4);
const doc4 = mj4.document('', {
  InputJax: new TeX4({packages: ['base', 'ams', 'newcommand', 'boldsymbol']}),
  OutputJax: new CHTML4({fontData: MathJaxNewcmFont}),
});

const doc4svg = mj4.document('', {
  InputJax: new TeX4({packages: ['base', 'ams', 'newcommand', 'boldsymbol']}),
  OutputJax: new SVG4({fontData: MathJaxNewcmFontSVG, fontCache: 'none'}),
});

function one3(doc, adaptor, tex, display) {
  doc.reset();
  const node = doc.convert(tex, {display});
  return adaptor.outerHTML(node);
}

function hasError(html) {
  return /merror|data-mjx-error|mjx-merror/.test(html);
}

const RENDER = {
  // KaTeX default output: visible HTML plus MathML with a TeX annotation
  katex: (tex, display) => katex.renderToString(tex, {displayMode: display, throwOnError: true, output: 'htmlAndMathml'}),
  // KaTeX HTML only, the source kept by the site in a data attribute (as in Notion/Docusaurus-style markup)
  katex_data: (tex, display) => {
    const html = katex.renderToString(tex, {displayMode: display, throwOnError: true, output: 'html'});
    const attr = tex.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return `<span class="math ${display ? 'math-display' : 'math-inline'}" data-math="${attr}">${html}</span>`;
  },
  // KaTeX HTML only, nothing else: no TeX anywhere on the page
  katex_html: (tex, display) => katex.renderToString(tex, {displayMode: display, throwOnError: true, output: 'html'}),
  // Temml: MathML only, no annotation (its default)
  temml: (tex, display) => temml.renderToString(tex, {displayMode: display, throwOnError: true}),
  // MathJax 3 CommonHTML with the assistive MathML beside it
  mj3_chtml_mml: (tex, display) => one3(docs3.chtml_mml, adaptor3, tex, display),
  // MathJax 3 CommonHTML alone: only the mjx-* structure says what the formula was
  mj3_chtml: (tex, display) => one3(docs3.chtml, adaptor3, tex, display),
  // MathJax 3 SVG with assistive MathML
  mj3_svg: (tex, display) => one3(docs3.svg, adaptor3, tex, display),
  // MathJax 3 SVG alone: only the data-mml-node groups and the glyphs' data-c code points
  mj3_svg_plain: (tex, display) => one3(docs3.svg_plain, adaptor3, tex, display),
  // MathJax 4 CommonHTML (data-latex attributes on the output)
  mj4_chtml: (tex, display) => one3(doc4, adaptor4, tex, display),
  // MathJax 4 SVG (data-latex attributes on the drawing's groups)
  mj4_svg: (tex, display) => one3(doc4svg, adaptor4, tex, display),
  // MathML as MathJax 3 serialises it, display equations numbered (mlabeledtr inside mtable)
  mathml_tagged: (tex, display) => {
    mmlDoc3.reset();
    const body = display ? `\\begin{equation}${tex}\\end{equation}` : tex;
    const node = mmlDoc3.convert(body, {display, end: STATE.CONVERT});
    return serializer.visitTree(node);
  },
};

function main() {
  const request = JSON.parse(readFileSync(0, 'utf-8'));
  const modes = {};
  for (const mode of request.modes) {
    const render = RENDER[mode];
    if (!render) throw new Error(`unknown mode ${mode}`);
    modes[mode] = request.items.map(({tex, display}) => {
      try {
        const html = render(tex, display);
        return hasError(html) ? null : html;
      } catch (e) {
        return null;
      }
    });
  }
  const versions = {
    katex: version('katex'),
    temml: version('temml'),
    'mathjax-full': version('mathjax-full'),
    '@mathjax/src': version('@mathjax/src'),
  };
  process.stdout.write(JSON.stringify({versions, modes}));
}

main();
