// Package fusion is where multi-sensor work lives: the time-synchronising
// multisensor mixer, late 2D/3D fusion, BEVFusion- and V2X-style fusion
// filters and 3D multi-object tracking (DESIGN.md §1). Its subpackages
// register ds3d::datamixer and ds3d::datafilter components.
package fusion
