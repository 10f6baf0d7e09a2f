// Package sensors gathers the data sources: point-cloud file formats, lidar
// file loaders and live drivers (lidar), image sequences (camera), RGB-D
// sequences (depth) and calibration files (calib). Each subpackage
// registers its formats and ds3d::dataloader components in init().
package sensors
