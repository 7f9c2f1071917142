/* qr.js: a small QR code encoder (ISO/IEC 18004), for showing a payment link on a PC
 *
 * Byte mode, error correction level M, versions 1 to 10 (up to 213 bytes): enough for the
 * payment providers' links. No external resources, ES2017. After the reference algorithm by
 * Project Nayuki (MIT), reduced to what the page needs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

(function () {
  /* Level M, index = version (0 unused) */
  const ECC_PER_BLOCK = [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26];
  const NUM_BLOCKS = [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5];
  const MAX_VERSION = 10;
  const FORMAT_ECC_M = 0;

  function rawDataModules (ver) {
    let result = (16 * ver + 128) * ver + 64;
    if (ver >= 2) {
      const numAlign = Math.floor(ver / 7) + 2;
      result -= (25 * numAlign - 10) * numAlign - 55;
      if (ver >= 7) {
        result -= 36;
      }
    }
    return result;
  }

  function dataCodewords (ver) {
    return Math.floor(rawDataModules(ver) / 8) - ECC_PER_BLOCK[ver] * NUM_BLOCKS[ver];
  }

  /* GF(2^8) with the polynomial 0x11D */
  function gfMul (x, y) {
    let z = 0;
    for (let i = 7; i >= 0; i--) {
      z = (z << 1) ^ ((z >>> 7) * 0x11D);
      z ^= ((y >>> i) & 1) * x;
    }
    return z & 0xFF;
  }

  function rsDivisor (degree) {
    const result = new Array(degree).fill(0);
    let root = 1;

    result[degree - 1] = 1;
    for (let i = 0; i < degree; i++) {
      for (let j = 0; j < result.length; j++) {
        result[j] = gfMul(result[j], root);
        if (j + 1 < result.length) {
          result[j] ^= result[j + 1];
        }
      }
      root = gfMul(root, 0x02);
    }
    return result;
  }

  function rsRemainder (data, divisor) {
    const result = divisor.map(() => 0);

    for (const b of data) {
      const factor = b ^ result.shift();
      result.push(0);
      for (let i = 0; i < divisor.length; i++) {
        result[i] ^= gfMul(divisor[i], factor);
      }
    }
    return result;
  }

  function utf8Bytes (text) {
    const bytes = [];
    const encoded = unescape(encodeURIComponent(text));
    for (let i = 0; i < encoded.length; i++) {
      bytes.push(encoded.charCodeAt(i));
    }
    return bytes;
  }

  /* Data codewords: mode, count, bytes, terminator, padding */
  function encodeData (bytes, ver) {
    const bits = [];
    const capacity = dataCodewords(ver) * 8;
    const push = (value, len) => {
      for (let i = len - 1; i >= 0; i--) {
        bits.push((value >>> i) & 1);
      }
    };

    push(0x4, 4);
    push(bytes.length, ver <= 9 ? 8 : 16);
    for (const b of bytes) {
      push(b, 8);
    }
    push(0, Math.min(4, capacity - bits.length));
    push(0, (8 - bits.length % 8) % 8);
    for (let pad = 0xEC; bits.length < capacity; pad ^= 0xEC ^ 0x11) {
      push(pad, 8);
    }

    const codewords = [];
    for (let i = 0; i < bits.length; i += 8) {
      let byte = 0;
      for (let j = 0; j < 8; j++) {
        byte = (byte << 1) | bits[i + j];
      }
      codewords.push(byte);
    }
    return codewords;
  }

  /* Splits into blocks, adds Reed-Solomon codewords, interleaves. */
  function addEcc (data, ver) {
    const numBlocks = NUM_BLOCKS[ver];
    const eccLen = ECC_PER_BLOCK[ver];
    const rawCodewords = Math.floor(rawDataModules(ver) / 8);
    const numShort = numBlocks - rawCodewords % numBlocks;
    const shortLen = Math.floor(rawCodewords / numBlocks);
    const divisor = rsDivisor(eccLen);
    const blocks = [];

    for (let i = 0, k = 0; i < numBlocks; i++) {
      const dat = data.slice(k, k + shortLen - eccLen + (i < numShort ? 0 : 1));
      k += dat.length;
      const ecc = rsRemainder(dat, divisor);
      if (i < numShort) {
        dat.push(0);
      }
      blocks.push(dat.concat(ecc));
    }

    const result = [];
    for (let i = 0; i < blocks[0].length; i++) {
      for (let j = 0; j < blocks.length; j++) {
        if (i !== shortLen - eccLen || j >= numShort) {
          result.push(blocks[j][i]);
        }
      }
    }
    return result;
  }

  function alignmentPositions (ver, size) {
    if (ver === 1) {
      return [];
    }
    const numAlign = Math.floor(ver / 7) + 2;
    const step = Math.ceil((ver * 4 + 4) / (numAlign * 2 - 2)) * 2;
    const result = [6];
    for (let pos = size - 7; result.length < numAlign; pos -= step) {
      result.splice(1, 0, pos);
    }
    return result;
  }

  function Matrix (ver) {
    this.size = ver * 4 + 17;
    this.modules = [];
    this.isFunction = [];
    for (let i = 0; i < this.size; i++) {
      this.modules.push(new Array(this.size).fill(false));
      this.isFunction.push(new Array(this.size).fill(false));
    }
  }

  Matrix.prototype.set = function (x, y, dark) {
    this.modules[y][x] = dark;
    this.isFunction[y][x] = true;
  };

  Matrix.prototype.drawFormat = function (mask) {
    const data = FORMAT_ECC_M << 3 | mask;
    let rem = data;
    for (let i = 0; i < 10; i++) {
      rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    }
    const bits = (data << 10 | rem) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) !== 0;
    const size = this.size;

    for (let i = 0; i <= 5; i++) {
      this.set(8, i, bit(i));
    }
    this.set(8, 7, bit(6));
    this.set(8, 8, bit(7));
    this.set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) {
      this.set(14 - i, 8, bit(i));
    }
    for (let i = 0; i < 8; i++) {
      this.set(size - 1 - i, 8, bit(i));
    }
    for (let i = 8; i < 15; i++) {
      this.set(8, size - 15 + i, bit(i));
    }
    this.set(8, size - 8, true);
  };

  Matrix.prototype.drawFunctionPatterns = function (ver) {
    const size = this.size;

    for (let i = 0; i < size; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    for (const c of [[3, 3], [size - 4, 3], [3, size - 4]]) {
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const x = c[0] + dx;
          const y = c[1] + dy;
          const dist = Math.max(Math.abs(dx), Math.abs(dy));
          if (x >= 0 && x < size && y >= 0 && y < size) {
            this.set(x, y, dist !== 2 && dist !== 4);
          }
        }
      }
    }
    const align = alignmentPositions(ver, size);
    const last = align.length - 1;
    for (let i = 0; i < align.length; i++) {
      for (let j = 0; j < align.length; j++) {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) {
          continue;
        }
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            this.set(align[i] + dx, align[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
          }
        }
      }
    }
    this.drawFormat(0);
    if (ver >= 7) {
      let rem = ver;
      for (let i = 0; i < 12; i++) {
        rem = (rem << 1) ^ ((rem >>> 11) * 0x1F25);
      }
      const bits = ver << 12 | rem;
      for (let i = 0; i < 18; i++) {
        const dark = ((bits >>> i) & 1) !== 0;
        const a = size - 11 + i % 3;
        const b = Math.floor(i / 3);
        this.set(a, b, dark);
        this.set(b, a, dark);
      }
    }
  };

  Matrix.prototype.drawCodewords = function (data) {
    const size = this.size;
    let i = 0;

    for (let right = size - 1; right >= 1; right -= 2) {
      if (right === 6) {
        right = 5;
      }
      for (let vert = 0; vert < size; vert++) {
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          const upward = ((right + 1) & 2) === 0;
          const y = upward ? size - 1 - vert : vert;
          if (!this.isFunction[y][x] && i < data.length * 8) {
            this.modules[y][x] = ((data[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0;
            i++;
          }
        }
      }
    }
  };

  const MASKS = [
    (x, y) => (x + y) % 2 === 0,
    (x, y) => y % 2 === 0,
    (x, y) => x % 3 === 0,
    (x, y) => (x + y) % 3 === 0,
    (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
    (x, y) => x * y % 2 + x * y % 3 === 0,
    (x, y) => (x * y % 2 + x * y % 3) % 2 === 0,
    (x, y) => ((x + y) % 2 + x * y % 3) % 2 === 0
  ];

  Matrix.prototype.applyMask = function (mask) {
    for (let y = 0; y < this.size; y++) {
      for (let x = 0; x < this.size; x++) {
        if (!this.isFunction[y][x] && MASKS[mask](x, y)) {
          this.modules[y][x] = !this.modules[y][x];
        }
      }
    }
  };

  /* Runs of 5+ in rows and columns, 2×2 blocks, and dark/light balance (rules 1, 2 and 4). */
  Matrix.prototype.penalty = function () {
    const size = this.size;
    const m = this.modules;
    let score = 0;
    let dark = 0;

    for (let a = 0; a < size; a++) {
      let runRow = 1;
      let runCol = 1;
      for (let b = 1; b < size; b++) {
        if (m[a][b] === m[a][b - 1]) {
          runRow++;
        } else {
          score += runRow >= 5 ? runRow - 2 : 0;
          runRow = 1;
        }
        if (m[b][a] === m[b - 1][a]) {
          runCol++;
        } else {
          score += runCol >= 5 ? runCol - 2 : 0;
          runCol = 1;
        }
      }
      score += (runRow >= 5 ? runRow - 2 : 0) + (runCol >= 5 ? runCol - 2 : 0);
    }
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        dark += m[y][x] ? 1 : 0;
        if (x + 1 < size && y + 1 < size && m[y][x] === m[y][x + 1] &&
            m[y][x] === m[y + 1][x] && m[y][x] === m[y + 1][x + 1]) {
          score += 3;
        }
      }
    }
    score += Math.floor(Math.abs(dark * 20 - size * size * 10) / (size * size)) * 10;
    return score;
  };

  /* Returns {size, modules} (modules[y][x] true = dark), or null if the text is too long. */
  function encode (text) {
    const bytes = utf8Bytes(text);
    let ver = 1;

    while (ver <= MAX_VERSION &&
           4 + (ver <= 9 ? 8 : 16) + bytes.length * 8 > dataCodewords(ver) * 8) {
      ver++;
    }
    if (ver > MAX_VERSION) {
      return null;
    }

    const codewords = addEcc(encodeData(bytes, ver), ver);
    let best = null;
    let bestScore = Infinity;

    for (let mask = 0; mask < 8; mask++) {
      const matrix = new Matrix(ver);
      matrix.drawFunctionPatterns(ver);
      matrix.drawCodewords(codewords);
      matrix.applyMask(mask);
      matrix.drawFormat(mask);
      const score = matrix.penalty();
      if (score < bestScore) {
        best = matrix;
        bestScore = score;
      }
    }
    return { size: best.size, modules: best.modules };
  }

  /* Draws @text into @canvas, with a 4-module quiet zone. Returns false if it does not fit. */
  function draw (canvas, text, pixels) {
    const qr = encode(text);
    if (!qr) {
      return false;
    }
    const total = qr.size + 8;
    const scale = Math.max(1, Math.floor((pixels || 240) / total));
    const ctx = canvas.getContext('2d');

    canvas.width = canvas.height = total * scale;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#000';
    for (let y = 0; y < qr.size; y++) {
      for (let x = 0; x < qr.size; x++) {
        if (qr.modules[y][x]) {
          ctx.fillRect((x + 4) * scale, (y + 4) * scale, scale, scale);
        }
      }
    }
    return true;
  }

  window.LingkaQr = { encode: encode, draw: draw };
})();
