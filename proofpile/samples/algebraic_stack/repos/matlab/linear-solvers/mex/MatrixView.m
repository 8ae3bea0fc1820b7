// Objective-C source that shares MATLAB's .m extension.
// Part of a sample repository.

#import <Foundation/Foundation.h>

@interface MatrixView : NSObject
@property (nonatomic) NSInteger rows;
@property (nonatomic) NSInteger cols;
- (instancetype)initWithRows:(NSInteger)rows cols:(NSInteger)cols;
@end

@implementation MatrixView
- (instancetype)initWithRows:(NSInteger)rows cols:(NSInteger)cols {
    self = [super init];
    if (self) {
        _rows = rows;
        _cols = cols;
    }
    return self;
}
@end
