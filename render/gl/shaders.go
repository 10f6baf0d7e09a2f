//go:build cgo

package gl

import (
	"fmt"
	"strings"

	gogl "github.com/go-gl/gl/v3.3-core/gl"
)

// Point shader: the lidar frame's floats are uploaded as they are (x, y, z
// and, with 4 floats a point, intensity) and coloured here, with the same
// modes, value ranges and Turbo colour map (a 256-texel texture built from
// core2d/draw.Colormap) as render/raster.
const pointVS = `#version 330 core
layout(location = 0) in vec3 pos;
layout(location = 1) in float intensity;
layout(location = 2) in vec2 tc;
uniform mat4 mvp;
uniform int mode;      // 0 intensity, 1 height, 2 range, 3 fixed, 4 depth, 5 rgb
uniform float lo, inv; // t = (value - lo) * inv
uniform int reversed;  // range and depth: near is red
uniform vec3 fixedColor;
uniform float pointSize;
uniform sampler2D cmap;   // 256×1 Turbo
uniform sampler2D rgbTex; // rgb: the colour image, row 0 at the top
uniform vec4 tcXform;     // rgb: texture coordinate = tc * xy + zw
out vec3 col;
void main() {
	gl_Position = mvp * vec4(pos, 1.0);
	gl_PointSize = pointSize;
	if (mode == 3) {
		col = fixedColor;
		return;
	}
	if (mode == 5) {
		col = texture(rgbTex, tc * tcXform.xy + tcXform.zw).rgb;
		return;
	}
	// depth: clip w, the distance along the viewing direction (the camera
	// depth z for a camera projection).
	float v = mode == 1 ? pos.z : (mode == 2 ? length(pos) : (mode == 4 ? gl_Position.w : intensity));
	float t = clamp((v - lo) * inv, 0.0, 1.0);
	if (reversed != 0) t = 1.0 - t;
	col = texelFetch(cmap, ivec2(int(t * 255.0 + 0.5), 0), 0).rgb;
}
`

// Image shader: a texture stretched over the viewport (a camera tile);
// texture row 0 (the image's top row) at the top.
const imageVS = `#version 330 core
out vec2 tuv;
void main() {
	vec2 p = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1)) * 2.0 - 1.0;
	gl_Position = vec4(p, 0.0, 1.0);
	tuv = vec2((p.x + 1.0) * 0.5, (1.0 - p.y) * 0.5);
}
`

const imageFS = `#version 330 core
in vec2 tuv;
uniform sampler2D img;
out vec4 frag;
void main() { frag = vec4(texture(img, tuv).rgb, 1.0); }
`

const colorFS = `#version 330 core
in vec3 col;
out vec4 frag;
void main() { frag = vec4(col, 1.0); }
`

// Line shader: x, y, z, r, g, b per vertex.
const lineVS = `#version 330 core
layout(location = 0) in vec3 pos;
layout(location = 1) in vec3 color;
uniform mat4 mvp;
out vec3 col;
void main() {
	gl_Position = mvp * vec4(pos, 1.0);
	col = color;
}
`

// Text shader: pixel position (origin top-left), atlas texel, colour.
const textVS = `#version 330 core
layout(location = 0) in vec2 pix;
layout(location = 1) in vec2 uv;
layout(location = 2) in vec3 color;
uniform vec2 viewport;
out vec2 tuv;
out vec3 col;
void main() {
	gl_Position = vec4(pix.x / viewport.x * 2.0 - 1.0, 1.0 - pix.y / viewport.y * 2.0, 0.0, 1.0);
	tuv = uv;
	col = color;
}
`

const textFS = `#version 330 core
in vec2 tuv;
in vec3 col;
uniform sampler2D font;
out vec4 frag;
void main() {
	if (texture(font, tuv).r < 0.5) discard;
	frag = vec4(col, 1.0);
}
`

func compileShader(src string, kind uint32) (uint32, error) {
	sh := gogl.CreateShader(kind)
	cs, free := gogl.Strs(src + "\x00")
	gogl.ShaderSource(sh, 1, cs, nil)
	free()
	gogl.CompileShader(sh)
	var ok int32
	gogl.GetShaderiv(sh, gogl.COMPILE_STATUS, &ok)
	if ok == gogl.FALSE {
		var n int32
		gogl.GetShaderiv(sh, gogl.INFO_LOG_LENGTH, &n)
		msg := strings.Repeat("\x00", int(n)+1)
		gogl.GetShaderInfoLog(sh, n, nil, gogl.Str(msg))
		gogl.DeleteShader(sh)
		return 0, fmt.Errorf("gl_render: shader: %s", strings.TrimRight(msg, "\x00"))
	}
	return sh, nil
}

func linkProgram(vs, fs string) (uint32, error) {
	v, err := compileShader(vs, gogl.VERTEX_SHADER)
	if err != nil {
		return 0, err
	}
	defer gogl.DeleteShader(v)
	f, err := compileShader(fs, gogl.FRAGMENT_SHADER)
	if err != nil {
		return 0, err
	}
	defer gogl.DeleteShader(f)
	p := gogl.CreateProgram()
	gogl.AttachShader(p, v)
	gogl.AttachShader(p, f)
	gogl.LinkProgram(p)
	var ok int32
	gogl.GetProgramiv(p, gogl.LINK_STATUS, &ok)
	if ok == gogl.FALSE {
		var n int32
		gogl.GetProgramiv(p, gogl.INFO_LOG_LENGTH, &n)
		msg := strings.Repeat("\x00", int(n)+1)
		gogl.GetProgramInfoLog(p, n, nil, gogl.Str(msg))
		gogl.DeleteProgram(p)
		return 0, fmt.Errorf("gl_render: link: %s", strings.TrimRight(msg, "\x00"))
	}
	return p, nil
}

func uniform(p uint32, name string) int32 { return gogl.GetUniformLocation(p, gogl.Str(name+"\x00")) }
